"""Replicas sharing an empty MODEL_DIR start together: one seeds it with the shipped model, none fails."""

from __future__ import annotations

import os

from bot.startup import seed_model_dir
from recognizer.model_store import CURRENT_FILE, SHIPPED_MODELS_DIR
from tests.conftest import at_once


def test_replicas_seeding_one_empty_model_dir_at_once(tmp_path):
    target = tmp_path / "models"
    results, errors = at_once(lambda: seed_model_dir(target))
    assert errors == [] and sorted(results) == [False, False, False, True]
    shipped = (SHIPPED_MODELS_DIR / CURRENT_FILE).read_text().strip()
    assert (target / CURRENT_FILE).read_text().strip() == shipped
    assert sorted(os.listdir(target)) == sorted([CURRENT_FILE, shipped])  # no lock, staging or partial files
