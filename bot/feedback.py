"""Feedback under each answer: ✅ Right, ✏️ Wrong with a digit keypad, or a typed correction."""

from __future__ import annotations

import asyncio
import logging
import re
import weakref

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError

from bot import texts
from bot.answers import StoredAnswer
from bot.context import BotContext, language
from bot.storage import MAX_NUMBER_DIGITS, MAX_ROW_ID, is_number
from training.contract import Verdict

log = logging.getLogger(__name__)
# One lock per answer whose keypad is being pressed: updates are handled concurrently, and two quick taps
# would each read the digits so far and write back their own, losing one (weak: gone when no press holds it).
_keypad_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

SAW_PREFIX = "saw:"
RIGHT_PREFIX = "ok:"
WRONG_PREFIX = "no:"
FIX_PREFIX = "fix:"
BACKSPACE_KEY = "b"  # the keypad's ⌫: one digit back
CANCEL_KEY = "x"  # the keypad's Cancel: close the keypad, the answer's buttons come back
# What the bot's own buttons carry: an answer id, and for the keypad one ASCII digit, ⌫ or Cancel.
_BUTTON_DATA = re.compile(r"(saw|ok|no):([0-9]{1,19})|fix:([0-9]{1,19}):([0-9bx])", re.ASCII)


def parse_button(data: str | None) -> tuple[str, int, str | None] | None:
    """(prefix, answer id, keypad key or None) from callback data the bot made; None for anything else.

    A keypad key is one ASCII digit, ``BACKSPACE_KEY`` or ``CANCEL_KEY``.
    """
    match = _BUTTON_DATA.fullmatch(data or "")
    if match is None:
        return None
    if match.group(1):
        prefix, answer_id, digit = match.group(1) + ":", int(match.group(2)), None
    else:
        prefix, answer_id, digit = FIX_PREFIX, int(match.group(3)), match.group(4)
    return (prefix, answer_id, digit) if 0 < answer_id <= MAX_ROW_ID else None


async def refuse_forged(update: Update, context: BotContext) -> None:
    """Callback data no button of this bot carries: answer the press (the client stops spinning), log it."""
    query = update.callback_query
    log.info("refused callback data %r from user %s", (query.data or "")[:80],
             update.effective_user.id if update.effective_user else None)
    await query.answer()


def answer_keyboard(answer_id: int, lang: str) -> InlineKeyboardMarkup:
    """✅ Right / ✏️ Wrong, and 🔍 What I saw."""
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(texts.text(lang, "right_button"), callback_data=f"{RIGHT_PREFIX}{answer_id}"),
         InlineKeyboardButton(texts.text(lang, "wrong_button"), callback_data=f"{WRONG_PREFIX}{answer_id}")],
        [InlineKeyboardButton(texts.text(lang, "saw_button"), callback_data=f"{SAW_PREFIX}{answer_id}")],
    ])


def keypad(answer_id: int, lang: str = "en") -> InlineKeyboardMarkup:
    """Digit buttons 0-9 for correcting one digit of an answer, then ⌫ (one digit back) and Cancel."""
    buttons = [InlineKeyboardButton(str(d), callback_data=f"{FIX_PREFIX}{answer_id}:{d}") for d in range(10)]
    controls = [InlineKeyboardButton(texts.text(lang, "backspace_button"),
                                     callback_data=f"{FIX_PREFIX}{answer_id}:{BACKSPACE_KEY}"),
                InlineKeyboardButton(texts.text(lang, "cancel_button"),
                                     callback_data=f"{FIX_PREFIX}{answer_id}:{CANCEL_KEY}")]
    return InlineKeyboardMarkup([buttons[:5], buttons[5:], controls])


def saw_only_keyboard(answer_id: int, lang: str) -> InlineKeyboardMarkup:
    """What stays under an answer once its feedback is in: "What I saw"."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(texts.text(lang, "saw_button"),
                                                       callback_data=f"{SAW_PREFIX}{answer_id}")]])


async def pressed_answer(update: Update, context: BotContext, prefix: str) -> StoredAnswer | None:
    """The stored answer a button press refers to, or None (after telling the user) when it is gone,
    malformed, or belongs to another chat."""
    query = update.callback_query
    button = parse_button(query.data)
    if button is None or button[0] != prefix:
        await refuse_forged(update, context)
        return None
    answer = await asyncio.to_thread(context.storage.answer, button[1])
    if answer is None or query.message is None or answer.chat_id != query.message.chat.id:
        await query.answer(texts.text(language(update), "saw_gone"), show_alert=True)
        return None
    return answer


async def _answer_for_query(update: Update, context: BotContext, prefix: str) -> StoredAnswer | None:
    """Like ``pressed_answer``, but also None (with thanks) when the answer already has feedback."""
    answer = await pressed_answer(update, context, prefix)
    if answer is not None and await asyncio.to_thread(context.storage.has_feedback, answer.id):
        await update.callback_query.answer(texts.text(language(update), "already_noted"))
        return None
    return answer


async def confirm(update: Update, context: BotContext) -> None:
    """Store a "✅ Right" as labelled samples and acknowledge it in the message."""
    answer = await _answer_for_query(update, context, RIGHT_PREFIX)
    if answer is None:
        return
    lang = language(update)
    stored = await asyncio.to_thread(context.storage.record_feedback, answer.id, update.effective_user.id,
                                     Verdict.RIGHT, answer.number)
    await update.callback_query.answer(texts.text(lang, "thanks_right" if stored else "already_noted"))
    if stored:
        await _acknowledge(update, answer.id, texts.text(lang, "noted_right"))


async def start_correction(update: Update, context: BotContext) -> None:
    """Show the digit keypad (and invite typing the number) after "✏️ Wrong"."""
    answer = await _answer_for_query(update, context, WRONG_PREFIX)
    if answer is None:
        return
    lang = language(update)
    query = update.callback_query
    answer_text = (query.message.text or "").split("\n\n")[0]
    await asyncio.to_thread(context.storage.set_correction_progress, answer.id, answer.chat_id, "",
                            query.message.message_id, answer_text)
    await query.answer()
    prompt = texts.text(lang, "which_digit", position=1, count=len(answer.number))
    await _edit(update, f"{answer_text}\n\n{prompt}", keypad(answer.id, lang))


async def keypad_press(update: Update, context: BotContext) -> None:
    """One key of a correction: a digit (after the last one, store the corrected samples), ⌫ or Cancel.

    Presses on one answer's keypad are taken one at a time, in the order they arrive.
    """
    button = parse_button(update.callback_query.data)
    lock = _keypad_locks.setdefault(button[1], asyncio.Lock()) if button else asyncio.Lock()
    async with lock:
        await _keypad_press(update, context)


async def _keypad_press(update: Update, context: BotContext) -> None:
    answer = await _answer_for_query(update, context, FIX_PREFIX)
    if answer is None:
        return
    query = update.callback_query
    lang = language(update)
    storage = context.storage
    so_far = await asyncio.to_thread(storage.correction_progress, answer.id)
    if so_far is None:  # the keypad of an answer whose correction was never started here
        await query.answer(texts.text(lang, "saw_gone"), show_alert=True)
        return
    key = query.data.rsplit(":", 1)[1]  # one ASCII digit, ⌫ or Cancel: pressed_answer checked the data
    base = (query.message.text or "").split("\n\n")[0]
    if key == CANCEL_KEY:
        await asyncio.to_thread(storage.cancel_correction, answer.id)
        await query.answer(texts.text(lang, "correction_cancelled"))
        await _edit(update, base, answer_keyboard(answer.id, lang))
        return
    if key == BACKSPACE_KEY:
        if not so_far:
            await query.answer(texts.text(lang, "nothing_to_erase"))
            return
        digits = so_far[:-1]
    else:
        digits = so_far + key
    if len(digits) < len(answer.number):
        await asyncio.to_thread(storage.set_correction_progress, answer.id, answer.chat_id, digits)
        await query.answer(digits or None)
        prompt = texts.text(lang, "which_digit", position=len(digits) + 1, count=len(answer.number))
        progress = texts.sentences(lang, texts.text(lang, "so_far", digits=digits) if digits else "", prompt)
        await _edit(update, f"{base}\n\n{progress}", keypad(answer.id, lang))
        return
    stored = await asyncio.to_thread(storage.record_feedback, answer.id, update.effective_user.id, Verdict.WRONG,
                                     digits)
    await query.answer(texts.text(lang, "thanks_fixed", number=digits) if stored else texts.text(lang, "already_noted"))
    if stored:
        await _acknowledge(update, answer.id, texts.text(lang, "noted_fixed", number=digits))


async def _acknowledge(update: Update, answer_id: int, note: str) -> None:
    """Replace the feedback buttons under an answer by a note; "What I saw" stays."""
    query = update.callback_query
    answer_text = (query.message.text or "").split("\n\n")[0]  # drop the keypad prompt, if any
    await _edit(update, f"{answer_text}\n\n{note}", saw_only_keyboard(answer_id, language(update)))


async def _edit(update: Update, text: str, markup: InlineKeyboardMarkup) -> None:
    """Edit the message whose button was pressed. A second tap on the same button (or one from a client
    still showing the old buttons) asks for the edit already made, which Telegram refuses as "message is not
    modified": the message already says it, so that is no error for the user or the admins."""
    try:
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            raise
        log.info("press by user %s left its message as it was: %s",
                 update.effective_user.id if update.effective_user else None, error)


async def typed_correction(update: Update, context: BotContext) -> bool:
    """A number typed while a correction is open in this chat; True if it was taken as one."""
    message = update.effective_message
    text = (message.text or "").strip().replace(" ", "")
    if not text.isdigit():  # any script's digits: a '²' or '٣' gets the reply below, not the text reply
        return False
    storage = context.storage
    answer_id = await asyncio.to_thread(storage.pending_correction, message.chat_id)
    if answer_id is None:
        return False
    lang = language(update)
    if not is_number(text):
        log.info("refused a typed correction of %d characters from user %s", len(text), update.effective_user.id)
        await message.reply_text(texts.text(lang, "type_digits", limit=MAX_NUMBER_DIGITS))
        return True
    keypad_message = await asyncio.to_thread(storage.correction_message, answer_id)  # before feedback closes it
    stored = await asyncio.to_thread(storage.record_feedback, answer_id, update.effective_user.id, Verdict.WRONG, text)
    note = texts.text(lang, "noted_fixed", number=text)
    await message.reply_text(note if stored else texts.text(lang, "already_noted"))
    if stored and keypad_message is not None:  # the answer's keypad would otherwise stay, and say "Already noted"
        message_id, answer_text = keypad_message
        try:
            await context.bot.edit_message_text(f"{answer_text}\n\n{note}", chat_id=message.chat_id,
                                                message_id=message_id,
                                                reply_markup=saw_only_keyboard(answer_id, lang))
        except TelegramError as error:  # the message may be too old to edit; the correction is saved
            log.info("could not close the keypad of answer %s: %s", answer_id, error)
    return True
