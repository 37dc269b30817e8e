"""Replicas sharing an empty MODEL_DIR start together: one seeds it with the shipped model, none fails."""

from __future__ import annotations

import os
import threading

from bot.startup import seed_model_dir
from recognizer.model_store import CURRENT_FILE, SHIPPED_MODELS_DIR


def test_replicas_seeding_one_empty_model_dir_at_once(tmp_path):
    target = tmp_path / "models"
    results: list[bool] = []
    errors: list[BaseException] = []

    def seed() -> None:
        try:
            results.append(seed_model_dir(target))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=seed) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(results) == [False, False, False, True]
    shipped = (SHIPPED_MODELS_DIR / CURRENT_FILE).read_text().strip()
    assert (target / CURRENT_FILE).read_text().strip() == shipped
    assert sorted(os.listdir(target)) == sorted([CURRENT_FILE, shipped])  # no lock, staging or partial files
