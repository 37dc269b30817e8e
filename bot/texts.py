"""Every sentence the bot says, in English and Simplified Chinese, chosen by Telegram's language_code.

Admin messages (/stats, /train, /rollback, notes sent without an update) are here too, so a Chinese
admin reads Chinese in every one; the helpers at the end join items the way each language does
(full-width brackets and 、 in Chinese, no space after 。).
"""

from __future__ import annotations

import time

from recognizer.confidence import as_told as chance  # a probability told to a user: 1% to 99%

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "start": "Send me a photo of a handwritten digit or number and I'll read it.\n"
                 "Dark ink on plain paper, one number per photo, works best. /help for more.",
        "help": "📷 Send a photo (or an image file) of a handwritten digit or number; I reply with what I read "
                "and how sure I am.\n\n"
                "For a good photo:\n• dark pen on plain white paper\n• the number fills most of the photo\n"
                "• even light, no shadows\n• one number per photo\n\n"
                "Under each answer:\n✅ Right: tell me I read it right.\n"
                "✏️ Wrong: tap the right digits on the keypad (⌫ takes one back, Cancel closes it), or just "
                "type the right number. Typing also fixes a wrong count of digits (say I read 140 for 1000).\n"
                "🔍 What I saw: the digits as the model saw them.\n\n"
                "Your answers teach me: the admins retrain me on them.",
        "unknown_command": "I don't know that command. /help says what I can do.",
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
        "backspace_button": "⌫",
        "cancel_button": "Cancel",
        "already_noted": "Already noted, thank you!",
        "thanks_right": "Thanks!",
        "noted_right": "✅ Thanks — noted as right.",
        "which_digit": "Which is digit {position} of {count}? Tap it below, or type the whole right number "
                       "(typing also fixes a wrong count of digits).",
        "so_far": "So far: {digits}.",
        "nothing_to_erase": "Nothing to take back.",
        "correction_cancelled": "Correction cancelled.",
        "thanks_fixed": "Thanks! Saved as {number}.",
        "noted_fixed": "✏️ Thanks — saved the right answer: {number}.",
        "type_digits": "Please type the right number with the digits 0-9 only (at most {limit} of them).",
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
        "admin_private_only": "Admin commands work in a private chat with me, so the figures stay private.",
        "download_failed": "I couldn't fetch that picture from Telegram in time. Please send it again.",
        # --- the command menus ---
        "menu_start": "How to use the bot",
        "menu_help": "Photo tips and the buttons under answers",
        "menu_stats": "Usage, accuracy and a chart",
        "menu_train": "Retrain on users' feedback: /train [epochs] or /train cancel",
        "menu_rollback": "Go back to the previous model",
        # --- /stats ---
        "stats": "📊 Usage\nPhotos read: {photos}\nDistinct users: {users}\nAnswers: {statuses}\n"
                 "Reading time: {latency}\n\n🧠 Model\nVersion: {version}\nMNIST test accuracy: {accuracy}\n"
                 "Trained on: {trained}",
        "status_ok": "{count} read",
        "status_unsure": "{count} unsure",
        "status_no_digit": "{count} with no digit",
        "none_yet": "none yet",
        "latency": "median {p50:.0f} ms, 95% within {p95:.0f} ms",
        "feedback_stats": "\n\n🗳 Feedback\nConfirmed: {confirmed}, corrected: {corrected}{miscounted}\n"
                          "Accuracy from feedback: {accuracy}\nPer digit (right of given): {per_digit}",
        "feedback_miscounted": " ({count} with a digit too many or too few: kept, not yet learnt from)",
        "feedback_accuracy": "{accuracy} of {digits}",
        "digits_count": "{count} digit|{count} digits",
        "samples_count": "{count} sample|{count} samples",
        "chart_days": "Photos per day (last {days} days)",
        "chart_digits": "Digits read",
        "chart_feedback": "Users' feedback ({digits})",
        "chart_user_says": "user says",
        "chart_model_said": "model said",
        "chart_no_data": "No data yet",
        "chart_caption": "📈 Usage and feedback",
        # --- /train ---
        "epochs": "{count} epoch|{count} epochs",
        "train_started": "🏋️ Training started: {epochs} on MNIST plus {samples} of users' feedback ({held_out} "
                         "held out to judge the result). I'll update this message.",
        "train_starting": "just starting",
        "train_progress": "epoch {epoch} of {epochs}, validation accuracy {accuracy}, {left}",
        "train_left_minutes": "about {minutes} min left",
        "train_left_soon": "less than a minute left",
        "train_status": "🏋️ Training: {progress}",
        "train_busy": "A training run is already going ({progress}). /train cancel stops it.",
        "train_cancelling": "Cancelling the training run…",
        "train_not_running": "No training is running.",
        "train_usage": "Usage: /train [epochs, 1-{limit}] or /train cancel",
        "train_stopping": "⏸ Training stopped: the bot is shutting down. The model in use is unchanged; "
                          "I'll tell you when I'm back.",
        "train_cancelled": "⏹ Training cancelled. The model in use is unchanged.",
        "train_installed": "✅ New model installed: MNIST test accuracy {accuracy}.\n{decided}\n"
                           "/rollback returns to {previous}.",
        "train_kept": "↩️ Kept the model in use: the new one was not better.\n{decided}",
        "train_load_failed": "⚠️ It is installed, but the bot could not load it ({error}); the bot keeps "
                             "the previous model until it restarts.",
        "train_decided": "Decided by:\n• MNIST test set: new {candidate}, in use {current}\n{feedback}",
        "train_decided_feedback": "• {held_out} held-out feedback samples: new {candidate}, in use {current}",
        "train_decided_no_feedback": "• no held-out feedback yet (MNIST alone decided)",
        "train_corrections": "✏️ Digits users corrected: fixed {trained_fixed} of {trained} it trained on; "
                             "{held_out_fixed} of {held_out} held out.",
        "train_failed": "❌ Training failed (exit code {code}): {reason}\nThe model in use is unchanged.",
        "train_chart_caption": "📈 Learning curves and the MNIST test confusion matrix of the new model",
        "chart_curves": "Learning curves",
        "chart_epoch": "epoch",
        "chart_accuracy": "accuracy",
        "chart_loss": "loss",
        "chart_train": "training (augmented)",
        "chart_validation": "validation",
        "chart_true": "true digit",
        "chart_predicted": "predicted digit",
        "chart_confusion": "MNIST test, accuracy {accuracy}",
        "interrupted": "⚠️ The training run started {started} UTC was interrupted when the bot stopped. {outcome}; "
                       "send /train to start again.",
        "interrupted_unchanged": "The model in use is unchanged",
        "interrupted_changed": "The model in use is now {now} (it was {before} when the run started)",
        # --- /rollback ---
        "rollback_none": "There is no earlier model to roll back to.",
        "rollback_refused": "⚠️ Not rolled back: model {previous} cannot be used ({error}). Model {current} stays "
                            "in use.",
        "rollback_done": "↩️ Rolled back to model {version} (MNIST test accuracy {accuracy}). /rollback again "
                         "returns to {current}.",
        # --- notes to admins without an update ---
        "outage": "⚠️ I could not reach Telegram from {start} UTC for {seconds:.0f} s ({attempts} failed attempts, "
                  "last: {error}). I'm back and answering again.",
        "admin_error": "⚠️ {error}",
    },
    "zh": {
        "start": "发给我一张手写数字的照片，我来识别。\n白纸黑字、每张照片一个数字效果最好。更多说明见 /help。",
        "help": "📷 发送手写数字或数字串的照片（或图片文件），我会回复识别结果和把握程度。\n\n"
                "怎样拍好照片：\n• 用深色笔写在白纸上\n• 让数字占满大部分画面\n• 光线均匀，避免阴影\n"
                "• 每张照片只写一个数\n\n"
                "每条回答下方：\n✅ 对：告诉我识别正确。\n"
                "✏️ 不对，改正：在数字键盘上点出正确的数字（⌫ 退回一位，“取消”关闭键盘），或直接输入正确的数。"
                "位数不对时（比如把 1000 识别成 140），请直接输入。\n"
                "🔍 我看到的：查看模型眼中的数字。\n\n"
                "你的反馈会被用来重新训练我。",
        "unknown_command": "我不认识这个命令。发送 /help 查看我能做什么。",
        "answer_one": "{number} — 把握 {confidence}",
        "answer_many": "{number} — 把握 {confidence}\n各位数字：{digits}",
        "unsure": "{number}？— 只有 {confidence} 的把握",
        "doubt": "第 {position} 位（共 {count} 位）看起来像 {digit}（{confidence}），也可能是 {others}。",
        "other_readings": "整个数字也可能是：{readings}。",
        "no_digit": "我在这张照片里没有找到手写数字。\n{tip}",
        "tip": "提示：用深色笔写在白纸上，让数字占满大部分画面，并避免阴影。",
        "saw_button": "🔍 我看到的",
        "right_button": "✅ 对",
        "wrong_button": "✏️ 不对，改正",
        "backspace_button": "⌫",
        "cancel_button": "取消",
        "already_noted": "已经记下了，谢谢！",
        "thanks_right": "谢谢！",
        "noted_right": "✅ 谢谢——已记为正确。",
        "which_digit": "第 {position} 位（共 {count} 位）是几？点下面的数字，或直接输入完整的正确数字"
                       "（位数不对时也请直接输入）。",
        "so_far": "已输入：{digits}。",
        "nothing_to_erase": "还没有可以退回的数字。",
        "correction_cancelled": "已取消改正。",
        "thanks_fixed": "谢谢！已保存为 {number}。",
        "noted_fixed": "✏️ 谢谢——已保存正确答案：{number}。",
        "type_digits": "请只用数字 0-9 输入正确的数字（最多 {limit} 位）。",
        "saw_caption": "我看到的：模型眼中的每个数字（28×28 像素）。",
        "saw_gone": "这条回答已经不可用了。",
        "text": "我识别照片中的数字。请发送一张手写数字的照片。",
        "unsupported": "我只能识别照片和图片文件。请发送一张手写数字的照片。",
        "not_image_file": "这个文件不是图片。请发送手写数字的照片（JPEG、PNG、WebP 等）。",
        "too_large": "文件太大（超过 {limit} MB）。请发送小一些的照片。",
        "bad_image": "{reason}请换一张照片试试。",
        "rate_limited": "你发送照片的速度太快了。请等一分钟再试。",
        "error": "抱歉，识别时出了点问题。请稍后再试。",
        "admin_only": "抱歉，这个命令只对管理员开放。",
        "admin_private_only": "管理员命令请在与我的私聊中使用，这样数据不会公开。",
        "download_failed": "没能及时从 Telegram 取到这张图片。请再发送一次。",
        "menu_start": "使用方法",
        "menu_help": "拍照技巧和回答下方的按钮",
        "menu_stats": "使用情况、准确率和图表",
        "menu_train": "用用户反馈重新训练：/train [轮数] 或 /train cancel",
        "menu_rollback": "换回上一个模型",
        "stats": "📊 使用情况\n已识别照片：{photos}\n用户数：{users}\n回答：{statuses}\n"
                 "识别用时：{latency}\n\n🧠 模型\n版本：{version}\nMNIST 测试准确率：{accuracy}\n"
                 "训练日期：{trained}",
        "status_ok": "识别 {count} 张",
        "status_unsure": "没把握 {count} 张",
        "status_no_digit": "没有数字 {count} 张",
        "none_yet": "暂无",
        "latency": "中位数 {p50:.0f} 毫秒，95% 在 {p95:.0f} 毫秒以内",
        "feedback_stats": "\n\n🗳 反馈\n确认正确：{confirmed}，改正：{corrected}{miscounted}\n"
                          "根据反馈的准确率：{accuracy}\n各数字（答对/反馈数）：{per_digit}",
        "feedback_miscounted": "（其中 {count} 次多读或少读了数字：已保存，暂不用于训练）",
        "feedback_accuracy": "{accuracy}（共 {digits}）",
        "digits_count": "{count} 个数字",
        "samples_count": "{count} 个样本",
        "chart_days": "每天的照片数（最近 {days} 天）",
        "chart_digits": "识别出的数字",
        "chart_feedback": "用户反馈（{digits}）",
        "chart_user_says": "用户说",
        "chart_model_said": "模型说",
        "chart_no_data": "暂无数据",
        "chart_caption": "📈 使用情况和反馈",
        "epochs": "{count} 轮",
        "train_started": "🏋️ 开始训练：{epochs}，使用 MNIST 和 {samples}的用户反馈（其中 {held_out}留作检验）。"
                         "我会更新这条消息。",
        "train_starting": "正在启动",
        "train_progress": "第 {epoch}/{epochs} 轮，验证准确率 {accuracy}，{left}",
        "train_left_minutes": "还需约 {minutes} 分钟",
        "train_left_soon": "不到一分钟",
        "train_status": "🏋️ 训练中：{progress}",
        "train_busy": "已有训练在进行（{progress}）。发送 /train cancel 可以停止。",
        "train_cancelling": "正在取消训练……",
        "train_not_running": "现在没有在训练。",
        "train_usage": "用法：/train [轮数，1-{limit}] 或 /train cancel",
        "train_stopping": "⏸ 训练已停止：机器人正在关闭。正在使用的模型没有变化；我回来后会告诉你。",
        "train_cancelled": "⏹ 训练已取消。正在使用的模型没有变化。",
        "train_installed": ("✅ 已启用新模型：MNIST 测试准确率 {accuracy}。\n{decided}\n"
                            "发送 /rollback 可换回 {previous}。"),
        "train_kept": "↩️ 保留正在使用的模型：新模型没有更好。\n{decided}",
        "train_load_failed": "⚠️ 新模型已启用，但机器人无法加载它（{error}）；重启前继续使用之前的模型。",
        "train_decided": "判断依据：\n• MNIST 测试集：新模型 {candidate}，现用模型 {current}\n{feedback}",
        "train_decided_feedback": "• {held_out} 个留作检验的反馈样本：新模型 {candidate}，现用模型 {current}",
        "train_decided_no_feedback": "• 还没有留作检验的反馈（只看 MNIST）",
        "train_corrections": ("✏️ 用户纠正过的数字：训练用的 {trained} 个中改对了 {trained_fixed} 个；"
                              "留作检验的 {held_out} 个中改对了 {held_out_fixed} 个。"),
        "train_failed": "❌ 训练失败（退出码 {code}）：{reason}\n正在使用的模型没有变化。",
        "train_chart_caption": "📈 新模型的学习曲线和 MNIST 测试集混淆矩阵",
        "chart_curves": "学习曲线",
        "chart_epoch": "轮",
        "chart_accuracy": "准确率",
        "chart_loss": "损失",
        "chart_train": "训练（增强后）",
        "chart_validation": "验证",
        "chart_true": "真实数字",
        "chart_predicted": "预测数字",
        "chart_confusion": "MNIST 测试集，准确率 {accuracy}",
        "interrupted": "⚠️ 于 {started} UTC 开始的训练在机器人停止时中断了。{outcome}；发送 /train 可重新开始。",
        "interrupted_unchanged": "正在使用的模型没有变化",
        "interrupted_changed": "现在使用的模型是 {now}（训练开始时是 {before}）",
        "rollback_none": "没有更早的模型可以换回。",
        "rollback_refused": "⚠️ 没有换回：模型 {previous} 无法使用（{error}）。继续使用模型 {current}。",
        "rollback_done": "↩️ 已换回模型 {version}（MNIST 测试准确率 {accuracy}）。再次发送 /rollback 可回到 {current}。",
        "outage": "⚠️ 从 {start} UTC 起我有 {seconds:.0f} 秒连不上 Telegram（失败 {attempts} 次，最后一次：{error}）。"
                  "现在已恢复，继续回答。",
        "admin_error": "⚠️ 出错了：{error}",
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
    """The sentence ``key`` in ``language`` (English where a key has no translation), filled in."""
    template = TEXTS.get(language, TEXTS["en"]).get(key) or TEXTS["en"][key]
    return template.format(**values) if values else template


def counted(language: str, key: str, count: int) -> str:
    """A count with its noun: "1 epoch", "5 epochs", "5 轮" (a key holds "singular|plural" in English)."""
    forms = text(language, key).split("|")
    return forms[0 if count == 1 or len(forms) == 1 else 1].format(count=count)


def percent(value: float) -> str:
    return f"{value:.0%}"


def share(language: str, item: object, value: float, *, is_chance: bool = False) -> str:
    """An item and its share: "7 (98%)"; "7（98%）" with Chinese full-width brackets. ``is_chance``: the share
    is a probability told to a user (``chance``), not a count's ratio."""
    shown = chance(value) if is_chance else percent(value)
    return f"{item}（{shown}）" if language == "zh" else f"{item} ({shown})"


def sentences(language: str, *parts: str) -> str:
    """Sentences in a row: a space between them in English, none after Chinese 。！？."""
    return ("" if language == "zh" else " ").join(part for part in parts if part)


def listing(language: str, items: list[str]) -> str:
    """Items side by side: "3 (99%), 8 (97%)"; "3（99%）、8（97%）"."""
    return ("、" if language == "zh" else ", ").join(items)


def either(language: str, items: list[str]) -> str:
    """Alternatives: "3 (20%), 5 (4%) or 8 (1%)"; "3（20%）、5（4%）或 8（1%）"."""
    if len(items) <= 1:
        return "".join(items)
    return listing(language, items[:-1]) + (" 或 " if language == "zh" else " or ") + items[-1]


def date(language: str, iso_or_unix: str | float | None) -> str:
    """A date people read: "29 Nov 2026"; "2026年11月29日" (from an ISO timestamp or Unix time)."""
    if iso_or_unix is None or iso_or_unix == "":
        return "—"
    try:
        if isinstance(iso_or_unix, (int, float)):
            parts = time.gmtime(iso_or_unix)
        else:
            parts = time.strptime(str(iso_or_unix)[:10], "%Y-%m-%d")
    except (ValueError, OverflowError):
        return str(iso_or_unix)
    if language == "zh":
        return f"{parts.tm_year}年{parts.tm_mon}月{parts.tm_mday}日"
    return time.strftime("%-d %b %Y", parts)
