"""Throughput with one and with two replicas: webhook processes on one PostgreSQL, as deployed.

    python bench/replica_load.py [--replicas 1 2] [--users 20] [--photos-per-user 10]

Needs a PostgreSQL role that may create databases in DIGITBOT_TEST_POSTGRES (``.ci/postgres`` makes
one on this machine); each run gets a database of its own, dropped after. For each replica count,
``python -m bot`` processes start in webhook mode (DATABASE_URL, one shared MODEL_DIR, METRICS_PORT
each); the local Bot API stand-in POSTs every update to the replicas in turn, all photos at once
(1280x1280 JPEGs of MNIST test digits, 20 users x 10 photos by default), and the time to the last
reply gives the throughput. During the run each replica's /metrics is scraped every second: the
``digitbot_photos_total`` series in the results show the counters moving, and their sum at the end
must equal the photos sent. CPU is counted per bot process (``/proc/<pid>/stat``). Record ``uptime``
with the figures: on a shared 2-core machine they say as much about the neighbours as about the bot.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import save
from bench.bot_load import FIRST_USER, answered, make_photos, process_cpu_s
from digitbot.testkit import postgres
from digitbot.testkit.bot_process import TOKEN, BotProcess
from digitbot.testkit.fake_telegram import FakeTelegram
from recognizer.model_store import SHIPPED_MODELS_DIR
from tests.bot.test_operations_e2e import free_port

SECRET = "bench-secret"


def photos_counted(port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "digitbot_photos_total")


def run(replica_count: int, photos: list[tuple[int, str, bytes]]) -> dict:
    database = postgres.TestDatabase()
    with FakeTelegram(TOKEN) as fake, tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models"
        shutil.copytree(SHIPPED_MODELS_DIR, models)
        bots = [BotProcess(fake, Path(tmp) / f"data-{i}", Path(tmp) / f"bot-{i}.log", DATABASE_URL=database.url,
                           MODEL_DIR=str(models), WEBHOOK_URL="https://bot.example.org/telegram",
                           WEBHOOK_SECRET=SECRET, WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PORT=str(free_port()),
                           METRICS_PORT=str(free_port()), PHOTOS_PER_MINUTE="1000")
                for i in range(replica_count)]
        try:
            for bot in bots:
                bot.start(timeout=120)
            fake.deliver_to([bot.webhook for bot in bots], SECRET, senders=8)
            ports = [int(bot.env["METRICS_PORT"]) for bot in bots]
            cpu_before = [process_cpu_s(bot.process.pid) for bot in bots]
            series: list[tuple[float, list[float]]] = []
            done = threading.Event()

            def scrape() -> None:
                while not done.is_set():
                    series.append((time.monotonic() - started, [photos_counted(port) for port in ports]))
                    done.wait(1.0)

            started = time.monotonic()
            pushed_at = {}
            for user, _, photo in photos:
                update_id = fake.push(fake.photo_message(user, photo))
                pushed_at[update_id] = (user, time.monotonic())
            scraper = threading.Thread(target=scrape, daemon=True)
            scraper.start()
            while answered(fake) < len(photos):
                if time.monotonic() - started > 900:
                    raise SystemExit(f"only {answered(fake)} of {len(photos)} answered in 900 s")
                time.sleep(0.02)
            elapsed = time.monotonic() - started
            done.set()
            scraper.join()
            cpu = [process_cpu_s(bot.process.pid) - before for bot, before in zip(bots, cpu_before)]
            final = [photos_counted(port) for port in ports]
            settle = time.monotonic() + 5  # a photo is counted just after its reply is sent
            while sum(final) < len(photos) and time.monotonic() < settle:
                time.sleep(0.1)
                final = [photos_counted(port) for port in ports]
            replies = [c for c in fake.sent("sendMessage") if c.params.get("chat_id", 0) >= FIRST_USER]
            delays = []
            by_user: dict[int, list[float]] = {}
            for user, at in pushed_at.values():
                by_user.setdefault(user, []).append(at)
            for user, times in by_user.items():
                got = sorted(c.at for c in replies if c.params["chat_id"] == user)
                delays += [a - p for a, p in zip(got, sorted(times))]
        finally:
            for bot in bots:
                if bot.process is not None and bot.process.poll() is None:
                    bot.stop()
            database.drop()
    p50, p95 = np.percentile(delays, [50, 95])
    n = len(photos)
    return {"replicas": replica_count, "photos": n, "seconds": elapsed, "photos_per_second": n / elapsed,
            "reply_p50_s": float(p50), "reply_p95_s": float(p95),
            "bot_cpu_ms_per_photo": 1000 * sum(cpu) / n, "cpu_s_per_replica": cpu,
            "photos_counted_per_replica": final, "metrics_series": series}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--photos-per-user", type=int, default=10)
    args = parser.parse_args()
    why = postgres.unavailable()
    if why is not None:
        raise SystemExit(why)
    photos = make_photos(args.users, args.photos_per_user, 1)
    results = {"load_average_before": os.getloadavg(), "runs": []}
    for count in args.replicas:
        result = run(count, photos)
        results["runs"].append(result)
        moving = ", ".join(f"{t:.0f} s: {sum(v):.0f}" for t, v in result["metrics_series"][::3])
        print(f"{count} replica(s): {result['photos']} photos in {result['seconds']:.1f} s = "
              f"{result['photos_per_second']:.1f} photos/s; reply p50 {result['reply_p50_s']:.1f} s, "
              f"p95 {result['reply_p95_s']:.1f} s; bot CPU {result['bot_cpu_ms_per_photo']:.0f} ms/photo; "
              f"/metrics photos per replica {result['photos_counted_per_replica']}")
        print(f"  digitbot_photos_total summed over replicas, while it ran: {moving}")
    results["load_average_after"] = os.getloadavg()
    print(f"load average before {results['load_average_before'][0]:.2f}, after "
          f"{results['load_average_after'][0]:.2f} (1 min)")
    print(f"saved {save('replica_load', results)}")


if __name__ == "__main__":
    main()
