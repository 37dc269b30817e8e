"""Every sentence the bot says, in English and Simplified Chinese, chosen by Telegram's language_code."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "start": "Send me a photo of a handwritten digit or number and I'll read it.\n"
                 "Dark ink on plain paper, one number per photo, works best. /help for more.",
        "help": "Send a photo (or an image file) of a handwritten digit or number; I reply with what I read "
                "and how sure I am.\nTap “What I saw” under an answer to see the digits as I saw them.",
        "answer_one": "{number} — {confidence} sure",
        "answer_many": "{number} — {confidence} sure\nDigits: {digits}",
        "unsure": "{number}? — only {confidence} sure",
        "doubt": "Digit {position} of {count} looks like {digit} ({confidence}) but might be {others}.",
        "other_readings": "It might also read: {readings}.",
        "no_digit": "I couldn't find a handwritten digit in this photo.\n{tip}",
        "tip": "Tip: write with a dark pen on plain white paper, fill most of the photo with the number, "
               "and avoid shadows.",
        "saw_button": "🔍 What I saw",
        "right_button": "✅ Right",
        "wrong_button": "✏️ Wrong",
        "already_noted": "Already noted, thank you!",
        "thanks_right": "Thanks!",
        "noted_right": "✅ Thanks — noted as right.",
        "which_digit": "Which is digit {position} of {count}? Tap it below, or type the right number.",
        "so_far": "So far: {digits}.",
        "thanks_fixed": "Thanks! Saved as {number}.",
        "noted_fixed": "✏️ Thanks — saved the right answer: {number}.",
        "type_digits": "Please type the right number with the digits 0-9 only (at most {limit} of them).",
        "feedback_stats": "\n\n🗳 Feedback\nConfirmed: {confirmed}, corrected: {corrected}\n"
                          "Accuracy from feedback: {accuracy}\nPer digit: {per_digit}",
        "saw_caption": "What I saw: each digit as the model saw it (28×28 pixels).",
        "saw_gone": "That answer is no longer available.",
        "text": "I read digits in photos. Please send a photo of a handwritten digit or number.",
        "unsupported": "I can only read photos and image files. Please send a photo of a handwritten digit.",
        "not_image_file": "That file isn't an image. Please send a photo (JPEG, PNG, WebP…) of a handwritten digit.",
        "too_large": "That file is too large (over {limit} MB). Please send a smaller photo.",
        "bad_image": "{reason} Please try another photo.",
        "rate_limited": "You're sending photos faster than I can read them. Please wait a minute and try again.",
        "error": "Sorry, something went wrong while reading that. Please try again in a moment.",
        "admin_only": "Sorry, that command is for the bot's admins.",
        "stats": "📊 Usage\nPhotos read: {photos}\nDistinct users: {users}\nAnswers: {statuses}\n"
                 "Recognition latency: p50 {p50:.1f} ms, p95 {p95:.1f} ms\n\n🧠 Model\nVersion: {version}\n"
                 "MNIST test accuracy: {accuracy}\nTrained: {trained}",
    },
    "zh": {
        "start": "发给我一张手写数字的照片，我来识别。\n白纸黑字、每张照片一个数字效果最好。更多说明见 /help。",
        "help": "发送手写数字或数字串的照片（或图片文件），我会回复识别结果和把握程度。\n"
                "点击回答下方的“我看到的”可以查看模型看到的数字。",
        "answer_one": "{number} — 把握 {confidence}",
        "answer_many": "{number} — 把握 {confidence}\n各位数字：{digits}",
        "unsure": "{number}？— 只有 {confidence} 的把握",
        "doubt": "第 {position} 位（共 {count} 位）看起来像 {digit}（{confidence}），也可能是 {others}。",
        "other_readings": "整个数字也可能是：{readings}。",
        "no_digit": "我在这张照片里没有找到手写数字。\n{tip}",
        "tip": "提示：用深色笔写在白纸上，让数字占满大部分画面，并避免阴影。",
        "saw_button": "🔍 我看到的",
        "right_button": "✅ 对",
        "wrong_button": "✏️ 错",
        "already_noted": "已经记下了，谢谢！",
        "thanks_right": "谢谢！",
        "noted_right": "✅ 谢谢——已记为正确。",
        "which_digit": "第 {position} 位（共 {count} 位）是几？点下面的数字，或直接输入正确的数字。",
        "so_far": "已输入：{digits}。",
        "thanks_fixed": "谢谢！已保存为 {number}。",
        "noted_fixed": "✏️ 谢谢——已保存正确答案：{number}。",
        "type_digits": "请只用数字 0-9 输入正确的数字（最多 {limit} 位）。",
        "feedback_stats": "\n\n🗳 反馈\n确认正确：{confirmed}，纠正：{corrected}\n"
                          "根据反馈的准确率：{accuracy}\n各数字：{per_digit}",
        "saw_caption": "我看到的：模型眼中的每个数字（28×28 像素）。",
        "saw_gone": "这条回答已经不可用了。",
        "text": "我识别照片中的数字。请发送一张手写数字的照片。",
        "unsupported": "我只能识别照片和图片文件。请发送一张手写数字的照片。",
        "not_image_file": "这个文件不是图片。请发送手写数字的照片（JPEG、PNG、WebP 等）。",
        "too_large": "文件太大（超过 {limit} MB）。请发送小一些的照片。",
        "bad_image": "{reason} 请换一张照片试试。",
        "rate_limited": "你发送照片的速度太快了。请等一分钟再试。",
        "error": "抱歉，识别时出了点问题。请稍后再试。",
        "admin_only": "抱歉，这个命令只对管理员开放。",
        "stats": "📊 使用情况\n已识别照片：{photos}\n用户数：{users}\n回答：{statuses}\n"
                 "识别延迟：p50 {p50:.1f} 毫秒，p95 {p95:.1f} 毫秒\n\n🧠 模型\n版本：{version}\n"
                 "MNIST 测试准确率：{accuracy}\n训练时间：{trained}",
    },
}

# Reasons from recognizer.decode errors, by error class name.
DECODE_REASONS: dict[str, dict[str, str]] = {
    "en": {
        "NotAnImageError": "I couldn't open that as a picture.",
        "TruncatedImageError": "That picture seems to be cut off or damaged.",
        "ImageTooLargeError": "That picture has too many pixels for me.",
        "ImageDecodeError": "I couldn't read that picture.",
    },
    "zh": {
        "NotAnImageError": "我无法把它当作图片打开。",
        "TruncatedImageError": "这张图片似乎不完整或已损坏。",
        "ImageTooLargeError": "这张图片的像素太多了。",
        "ImageDecodeError": "我读不了这张图片。",
    },
}


def language_of(language_code: str | None) -> str:
    """'zh', 'zh-hans', 'zh-CN'... give Chinese; anything else English."""
    return "zh" if (language_code or "").lower().startswith("zh") else "en"


def text(language: str, key: str, **values: object) -> str:
    template = TEXTS.get(language, TEXTS["en"]).get(key) or TEXTS["en"][key]
    return template.format(**values) if values else template


def percent(value: float) -> str:
    return f"{value:.0%}"



def listing(language: str, items: list[str]) -> str:
    """Items side by side: "3 (99%), 8 (97%)"; "3（99%）、8（97%）"."""
    return ("、" if language == "zh" else ", ").join(items)


def either(language: str, items: list[str]) -> str:
    """Alternatives: "3 (20%), 5 (4%) or 8 (1%)"; "3（20%）、5（4%）或 8（1%）"."""
    if len(items) <= 1:
        return "".join(items)
    return listing(language, items[:-1]) + (" 或 " if language == "zh" else " or ") + items[-1]
