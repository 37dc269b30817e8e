"""Button data: what the bot's own buttons carry is read back; anything else is refused quietly."""

from __future__ import annotations

import pytest

from bot.feedback import FIX_PREFIX, RIGHT_PREFIX, SAW_PREFIX, WRONG_PREFIX, keypad, parse_button


def test_the_bots_own_buttons():
    assert parse_button("ok:12") == (RIGHT_PREFIX, 12, None)
    assert parse_button("no:7") == (WRONG_PREFIX, 7, None)
    assert parse_button("saw:9223372036854775807") == (SAW_PREFIX, 2**63 - 1, None)  # SQLite's largest id
    assert parse_button("fix:5:3") == (FIX_PREFIX, 5, "3")


def test_the_keypad_carries_data_the_parser_takes_back():
    keys = [button.callback_data for row in keypad(41).inline_keyboard for button in row]
    assert [parse_button(key) for key in keys] == [(FIX_PREFIX, 41, str(d)) for d in range(10)]


@pytest.mark.parametrize("data", [None, "", "ok:", "ok:0", "ok:9223372036854775808", "ok:" + "9" * 40, "ok:-1",
                                  "ok:12 ", "ok:1x", "fix:5:²", "fix:5:12", "fix:5", "fix:5:", "yes:3", "ok:١٢",
                                  "saw:3:1"])
def test_forged_data_is_no_button(data):
    assert parse_button(data) is None
