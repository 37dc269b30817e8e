"""Button data: what the bot's own buttons carry is read back; anything else is refused quietly."""

from __future__ import annotations

import pytest

from bot.feedback import (
    BACKSPACE_KEY,
    CANCEL_KEY,
    FIX_PREFIX,
    RIGHT_PREFIX,
    SAW_PREFIX,
    WRONG_PREFIX,
    keypad,
    parse_button,
)


def test_the_bots_own_buttons():
    assert parse_button("ok:12") == (RIGHT_PREFIX, 12, None)
    assert parse_button("no:7") == (WRONG_PREFIX, 7, None)
    assert parse_button("saw:9223372036854775807") == (SAW_PREFIX, 2**63 - 1, None)  # SQLite's largest id
    assert parse_button("fix:5:3") == (FIX_PREFIX, 5, "3")
    assert parse_button("fix:5:b") == (FIX_PREFIX, 5, BACKSPACE_KEY)
    assert parse_button("fix:5:x") == (FIX_PREFIX, 5, CANCEL_KEY)


def test_the_keypad_carries_data_the_parser_takes_back():
    buttons = [button for row in keypad(41).inline_keyboard for button in row]
    assert [parse_button(b.callback_data) for b in buttons] == [(FIX_PREFIX, 41, str(d)) for d in range(10)] + [
        (FIX_PREFIX, 41, BACKSPACE_KEY), (FIX_PREFIX, 41, CANCEL_KEY)]
    assert [b.text for b in buttons[10:]] == ["⌫", "Cancel"]
    assert [b.text for b in keypad(41, "zh").inline_keyboard[-1]] == ["⌫", "取消"]


@pytest.mark.parametrize("data", [None, "", "ok:", "ok:0", "ok:9223372036854775808", "ok:" + "9" * 40, "ok:-1",
                                  "ok:12 ", "ok:1x", "fix:5:²", "fix:5:12",
                                  "fix:5:B", "fix:5:bx", "fix:5:y", "fix:5", "fix:5:", "yes:3", "ok:١٢",
                                  "saw:3:1"])
def test_forged_data_is_no_button(data):
    assert parse_button(data) is None
