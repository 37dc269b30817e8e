"""Mutation testing: break the product one line at a time and see which test notices.

    python bench/mutations.py                  # every mutation
    python bench/mutations.py --only mnist-box-centre,unsure-never
    python bench/mutations.py --list           # what each one changes, and which tests it runs

Each mutation below is a one-line change to behaviour (a piece of text in one file that must occur
there exactly once, and its replacement). For each, the repository is copied to a temporary folder
(tracked and untracked files, not .git nor .venv; the working tree is never touched), the line is
changed there, and the tests that should catch it run there with ``-x -q`` under a time limit. A
mutation is *caught* when a test fails, *survived* when they all pass, *timeout* when they do not
finish in time, and *stale* when its line is no longer in the code (the code moved on: update the
mutation). First, the chosen mutations' tests run once on the unchanged code: any that fail there
already are deselected from every mutation run (a red test catches nothing) and listed. Results go
to bench/results/mutations.json (merged with earlier runs when ``--only`` is given) and
bench/results/mutations.md (a table).

The tests import the copy, not the checkout: pytest runs with the copy as its working directory, so
its packages come first on ``sys.path`` (before the editable install's finder), and subprocesses the
tests start (``python -m bot``, ``python -m training``) run from the copy too. ``MNIST_PATH`` and
``PHOTOS_DEV`` are passed on so the copy finds the shared data.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import REPO, RESULTS, machine, mnist_path, photos_dir  # noqa: E402

DEFAULT_TIMEOUT_S = 600
SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "data"}


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str  # file to change, relative to the repository
    original: str  # text that occurs exactly once in that file, on one line
    replacement: str  # what it becomes: still one line
    effect: str  # what the product does wrong then
    tests: tuple[str, ...]  # test files or node ids that should catch it


BEHAVIOUR = "tests/model/test_recognizer_behaviour.py"
MUTATIONS = [
    # --- issue 14's table (those with a counterpart in today's code) ------------------------------
    Mutation("mnist-box-centre", "recognizer/mnist_format.py",
             'cx, cy = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]',
             "cx, cy = (w - 1) / 2.0, (h - 1) / 2.0",
             "digits centred by their box, not their centre of mass",
             ("tests/code/test_mnist_format.py",)),
    Mutation("ruled-lines-kept", "recognizer/ink.py",
             "return binarise(remove_lines(ink_strength(grey)))", "return binarise(ink_strength(grey))",
             "ruled and grid lines stay in the ink",
             ("tests/code/test_ink.py", "tests/model/test_made_photos.py")),
    Mutation("unsure-never", "recognizer/recognizer.py", "UNSURE_BELOW = 0.8", "UNSURE_BELOW = 0.0",
             "the bot is never unsure: every guess is given as an answer",
             ("tests/code/test_serving_settings.py", "tests/model/test_made_photos.py",
              f"{BEHAVIOUR}::test_two_digits_drawn_over_each_other_are_not_a_sure_answer")),
    Mutation("temperature-ignored", "recognizer/recognizer.py",
             "digit_probs = self.classifier.classify(mnist, temperature=self.temperature)",
             "digit_probs = self.classifier.classify(mnist)",
             "the manifest's temperature is not applied: digit probabilities uncalibrated",
             ("tests/code/test_classifier.py", "tests/code/test_serving_settings.py")),
    Mutation("typed-correction-any-time", "bot/storage.py", "(chat_id, time.time() - within_s)", "(chat_id, 0.0)",
             "a number typed long after ✏️ is still stored as a label",
             ("tests/code/test_storage.py",)),
    Mutation("install-feedback-check-off", "training/retrain.py",
             "feedback_ok = candidate.feedback >= current.feedback", "feedback_ok = True",
             "a candidate worse on held-out feedback is installed",
             ("tests/code/test_install_decision.py",)),
    Mutation("ink-always-dark", "recognizer/ink.py",
             "g = grey if ink_is_dark(grey) else cv2.bitwise_not(grey)", "g = grey",
             "light ink on dark paper is read as dark on light",
             ("tests/code/test_ink.py",
              f"{BEHAVIOUR}::test_rendered_digits_keep_their_labels[11-light ink on dark]")),
    # --- recognizer/ ------------------------------------------------------------------------------
    Mutation("reading-beam-1", "recognizer/reading.py", "BEAM = 12  #", "BEAM = 1  #",
             "only the single best partial number is kept at each boundary",
             ("tests/code/test_reading.py",)),
    Mutation("piece-network-ignored", "recognizer/reading.py",
             "log_digit = (np.log(np.maximum(piece_probs[:, 0], FLOOR)) * weight).tolist()",
             "log_digit = [0.0] * len(piece_probs)",
             "the piece network's 'whole digit' belief is ignored: halves and pairs of digits read as digits",
             ("tests/code/test_reading.py",)),
    Mutation("calibration-ignored", "recognizer/recognizer.py",
             "confidence = self.calibration.probability(evidence)", "confidence = best.share",
             "the confidence is the raw share, not the calibrated probability",
             ("tests/code/test_confidence.py", "tests/code/test_serving_settings.py")),
    Mutation("preprocessing-version-unchecked", "recognizer/recognizer.py",
             "if trained_for != PREPROCESSING_VERSION:", "if False:",
             "a model trained for another preprocessing is served",
             ("tests/code/test_serving_settings.py",
              "tests/model/test_recognizer_behaviour.py::test_model_for_another_preprocessing_is_refused")),
    Mutation("decode-budget-off", "recognizer/decode.py",
             "self._room.wait_for(lambda: self.in_use + cost <= self.capacity)", "self._room.wait_for(lambda: True)",
             "concurrent decodes no longer share the memory budget",
             ("tests/code/test_decode.py",)),
    Mutation("exif-orientation-ignored", "recognizer/decode.py", "if orientation in _ORIENT:", "if False:",
             "a phone photo taken sideways is read sideways",
             ("tests/code/test_decode.py",)),
    Mutation("switch-before-validating", "recognizer/model_store.py",
             "loaded = load(version_dir)", "self._point(version); loaded = load(version_dir)",
             "/rollback and install point CURRENT at a model before checking it loads",
             ("tests/code/test_model_store.py",)),
    # --- bot/ ---------------------------------------------------------------------------------------
    Mutation("admin-check-off", "bot/guards.py",
             "if user is None or user.id not in context.settings.admin_ids:", "if False:",
             "anyone may run /stats, /train and /rollback",
             ("tests/bot/test_bot_e2e.py::test_stats_for_admin_only",)),
    Mutation("rate-limit-off", "bot/rate_limiter.py", "if len(seen) >= self.limit:", "if False:",
             "no per-user limit on photos", ("tests/code/test_rate_limiter.py",)),
    Mutation("answer-not-committed", "bot/database.py", "isolation_level=None, timeout=30",
             'isolation_level="DEFERRED", timeout=30',
             "answers are written in a transaction nobody commits before the reply",
             ("tests/code/test_storage.py",)),
    Mutation("feedback-label-not-stored", "bot/storage.py",
             "images_blob(digit.image), int(true), digit.digit", "images_blob(digit.image), digit.digit, digit.digit",
             "a correction stores the bot's own guess as the label",
             ("tests/code/test_storage.py",)),
    Mutation("button-id-unchecked", "bot/feedback.py",
             "return (prefix, answer_id, digit) if 0 < answer_id <= MAX_ROW_ID else None",
             "return (prefix, answer_id, digit)",
             "button data with an id SQLite cannot hold reaches storage",
             ("tests/code/test_buttons.py",)),
    Mutation("foreign-chat-feedback", "bot/feedback.py",
             "if answer is None or query.message is None or answer.chat_id != query.message.chat.id:",
             "if answer is None or query.message is None:",
             "a button press from another chat gives feedback on someone else's answer",
             ("tests/bot/test_learning_loop_e2e.py::test_presses_on_unknown_or_foreign_answers",
              "tests/bot/test_learning_loop_e2e.py::test_a_press_from_another_chat_gives_no_feedback")),
    Mutation("token-not-redacted", "bot/logging_setup.py", "if not token:", "if True:",
             "the bot token reaches the logs",
             ("tests/code/test_logging_setup.py", "tests/bot/test_bot_e2e.py::test_token_never_logged")),
    Mutation("shared-rate-limit-off", "bot/storage.py", "            if seen >= limit:", "            if False:",
             "replicas let a user send any number of photos", ("tests/code/test_storage.py",)),
    Mutation("training-lock-not-taken", "bot/database.py",
             'if connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:', "if True:",
             "two replicas may each start a /train (needs DIGITBOT_TEST_POSTGRES)", ("tests/code/test_storage.py",)),
    Mutation("models-not-followed", "bot/app.py",
             "if named is None or named == models.current.version or named == refused:", "if True:",
             "a model another replica installs is never used here (needs DIGITBOT_TEST_POSTGRES)",
             ("tests/bot/test_replicas_e2e.py::test_an_installed_model_and_a_rollback_reach_both_replicas_within_10_s",)),
    # --- training/ ----------------------------------------------------------------------------------
    Mutation("install-mnist-check-off", "training/retrain.py",
             "mnist_ok = candidate.mnist >= current.mnist - MNIST_TOLERANCE", "mnist_ok = True",
             "a candidate worse on MNIST is installed", ("tests/code/test_install_decision.py",)),
    Mutation("feedback-weight-one", "training/retrain.py",
             "return FEEDBACK_SHARE * mnist_digits / feedback_samples if feedback_samples else 1.0", "return 1.0",
             "a few hundred feedback samples are drowned by 60,000 MNIST digits",
             ("tests/code/test_install_decision.py",)),
    Mutation("holdout-everything-trained", "training/contract.py",
             "return self.sample_ids % HOLDOUT_EVERY == 0", "return self.sample_ids < 0",
             "no feedback is held out: the install decision is never judged on unseen feedback",
             ("tests/code/test_training_contract.py",)),
    Mutation("augment-mirrors", "training/augment.py",
             "x = _bilinear_sample(x, src_y + dy, src_x + dx)",
             "x = _bilinear_sample(x, src_y + dy, src_x + dx)[:, :, ::-1]",
             "training digits are mirrored left to right", ("tests/code/test_augment.py",)),
]


def copy_repository(target: Path, source: Path = REPO) -> None:
    """The working tree as it is (tracked and untracked files), without .git, .venv and caches."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in SKIP_DIRS or n.endswith(".egg-info")}
        if Path(folder).resolve() == (source / "bench").resolve():
            skipped.add("results")
        if Path(folder).resolve() == (source / "models").resolve():
            skipped.update(n for n in names if n.startswith(".tmp-"))
        return skipped
    shutil.copytree(source, target, ignore=ignore, symlinks=True)


def apply(root: Path, mutation: Mutation) -> bool:
    """Change the mutation's line in the copy at ``root``; False when its text is not there exactly once."""
    path = root / mutation.path
    text = path.read_text(encoding="utf-8")
    if not mutation.original or text.count(mutation.original) != 1:
        return False
    path.write_text(text.replace(mutation.original, mutation.replacement), encoding="utf-8")
    return True


FAILED = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - |$)", re.MULTILINE)


def present(root: Path, spec: str) -> bool:
    """Whether a test file (or a test function in it, for a node id) exists in the tree at ``root``."""
    file, _, node = spec.partition("::")
    path = root / file
    if not path.exists():
        return False
    return not node or f"def {node.split('[')[0]}(" in path.read_text(encoding="utf-8")


def test_env() -> dict[str, str]:
    return {**os.environ, "MNIST_PATH": mnist_path(), "PHOTOS_DEV": str(photos_dir()),
            "PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def failing_before(mutations: list[Mutation], timeout_s: float, source: Path = REPO) -> list[str]:
    """Tests among the mutations' that fail on the unchanged code: they cannot catch anything, so they
    are deselected from the mutation runs (and listed in the results) instead of counting as catches."""
    specs = sorted({t for m in mutations for t in m.tests})
    with tempfile.TemporaryDirectory(prefix="mutant-baseline-") as folder:
        root = Path(folder) / "repo"
        copy_repository(root, source)
        specs = [t for t in specs if present(root, t)]
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", *specs],
                                cwd=root, env=test_env(), capture_output=True, text=True, timeout=timeout_s)
    if result.returncode not in (0, 1):
        raise SystemExit(f"the tests do not run on the unchanged code (pytest exit {result.returncode}):\n"
                         + (result.stdout + result.stderr)[-3000:])
    return FAILED.findall(result.stdout)


def run_one(mutation: Mutation, timeout_s: float, source: Path = REPO,
            deselect: tuple[str, ...] = ()) -> dict[str, object]:
    """Copy, mutate, run the mutation's tests (but those in ``deselect``); what happened."""
    started = time.monotonic()
    outcome: dict[str, object] = {"name": mutation.name, "file": mutation.path, "effect": mutation.effect,
                                  "original": mutation.original, "replacement": mutation.replacement,
                                  "tests": list(mutation.tests), "caught_by": None}
    with tempfile.TemporaryDirectory(prefix="mutant-") as folder:
        root = Path(folder) / "repo"
        copy_repository(root, source)
        if not apply(root, mutation):
            return {**outcome, "status": "stale", "seconds": 0.0}
        tests = [t for t in mutation.tests if present(root, t)]
        outcome["tests"] = tests
        if not tests:
            return {**outcome, "status": "no tests", "seconds": 0.0}
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-rfE", "-p", "no:cacheprovider", *tests,
                   *(f"--deselect={node}" for node in deselect)]
        try:
            result = subprocess.run(command, cwd=root, env=test_env(), capture_output=True, text=True,
                                    timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {**outcome, "status": "timeout", "seconds": round(time.monotonic() - started, 1)}
    output = result.stdout + result.stderr
    failed = FAILED.findall(output)
    if result.returncode in (0, 5):  # all passed, or none left to run (all deselected as failing already)
        status = "survived"
    elif failed:
        status = "caught"
        outcome["caught_by"] = failed[0]
    elif result.returncode in (2, 3, 4):  # interrupted by a collection error, an internal error, a usage error
        status = "error"
        outcome["caught_by"] = f"pytest exit {result.returncode}: {output.strip().splitlines()[-1][:200]}"
    else:
        status = "caught"
        outcome["caught_by"] = f"pytest exit {result.returncode}"
    return {**outcome, "status": status, "seconds": round(time.monotonic() - started, 1)}


def table(results: list[dict[str, object]]) -> str:
    lines = ["| mutation | file | effect | result | caught by |", "| --- | --- | --- | --- | --- |"]
    for r in results:
        lines.append(f"| `{r['name']}` | `{r['file']}` | {r['effect']} | {r['status']} | "
                     f"{'`' + str(r['caught_by']) + '`' if r['caught_by'] else '—'} |")
    caught = sum(r["status"] == "caught" for r in results)
    lines.append("")
    lines.append(f"{caught} of {len(results)} mutations caught.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated mutation names")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per mutation")
    parser.add_argument("--list", action="store_true", help="print the mutations and exit")
    parser.add_argument("--source", type=Path, default=REPO,
                        help="mutate a copy of this tree instead of the checkout (e.g. `git archive` of a commit)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for mutations.json and .md")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the run of the unchanged code that finds (and deselects) tests failing already")
    parser.add_argument("--baseline-timeout", type=float, default=1800, help="seconds for that run")
    args = parser.parse_args(argv)
    chosen = MUTATIONS
    if args.only:
        names = set(args.only.split(","))
        unknown = names - {m.name for m in MUTATIONS}
        if unknown:
            parser.error(f"no mutation named {', '.join(sorted(unknown))}")
        chosen = [m for m in MUTATIONS if m.name in names]
    if args.list:
        for m in chosen:
            print(f"{m.name}: {m.path}: {m.original!r} -> {m.replacement!r}\n    {m.effect}; {' '.join(m.tests)}")
        return 0

    path = args.results / "mutations.json"
    earlier = {}
    if args.only and path.exists():
        earlier = {r["name"]: r for r in json.loads(path.read_text(encoding="utf-8")).get("mutations", [])}
    source = args.source.resolve()
    broken = [] if args.no_baseline else failing_before(chosen, args.baseline_timeout, source)
    if broken:
        print(f"failing on the unchanged code, deselected: {', '.join(broken)}", flush=True)
    for mutation in chosen:
        result = run_one(mutation, args.timeout, source, tuple(broken))
        earlier[mutation.name] = result
        print(f"{result['status']:>8}  {mutation.name}  {result['caught_by'] or ''}  ({result['seconds']} s)",
              flush=True)
    order = [m.name for m in MUTATIONS]
    results = sorted(earlier.values(), key=lambda r: order.index(r["name"]) if r["name"] in order else len(order))
    args.results.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.source, capture_output=True,
                            text=True).stdout.strip()
    if args.only and path.exists():
        broken = sorted(set(broken) | set(json.loads(path.read_text(encoding="utf-8")).get("failing_before", [])))
    path.write_text(json.dumps({"machine": machine(), "commit": commit, "failing_before": broken,
                                "mutations": results}, indent=2,
                               ensure_ascii=False) + "\n", encoding="utf-8")
    report = table(results) + (f"\nFailing on the unchanged code, so deselected: {', '.join(broken)}.\n"
                               if broken else "")
    (args.results / "mutations.md").write_text(report, encoding="utf-8")
    print(report)
    return 0 if all(r["status"] == "caught" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
