"""CPU per Bot API request of PTB's httpx client and the bot's aiohttp client, through PTB's interface.

    python bench/http_clients.py [--requests 3000] [--in-flight 16] [--rounds 2]

Each client sends the same sendMessage form (a reply with its buttons) ``--requests`` times, with
``--in-flight`` at once (the bot handles 16 updates at once), to the Bot API stand-in the tests and
bench/bot_load.py use, run in a separate process, so the CPU counted (this process's,
``time.process_time``) is the client's alone.
Both are PTB ``BaseRequest`` objects with the bot's pool size; rounds alternate the two clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

from telegram.request import HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import save
from bot.app import CONNECTION_POOL_SIZE
from bot.http_client import AiohttpRequest
from digitbot.testkit.bot_process import TOKEN
from digitbot.testkit.fake_telegram import FakeTelegram


def serve(port: multiprocessing.Value) -> None:
    """The stand-in, in a process of its own until this bench ends it."""
    with FakeTelegram(TOKEN) as fake:
        port.value = int(fake.url.rsplit(":", 1)[1])
        while True:
            time.sleep(60)


def reply_form() -> RequestData:
    keyboard = json.dumps({"inline_keyboard": [[{"text": "✅ Right", "callback_data": "ok:1"},
                                                {"text": "✏️ Wrong", "callback_data": "no:1"}]]})
    return RequestData([RequestParameter("chat_id", 5, None), RequestParameter("text", "7 — 99% sure", None),
                        RequestParameter("reply_markup", keyboard, None)])


async def cpu_per_request_ms(request, url: str, count: int, in_flight: int) -> float:
    await request.initialize()
    try:
        gate = asyncio.Semaphore(in_flight)

        async def one() -> None:
            async with gate:
                await request.post(url, reply_form())

        await asyncio.gather(*(one() for _ in range(in_flight)))  # connections opened before timing
        started = time.process_time()
        await asyncio.gather(*(one() for _ in range(count)))
        return 1000 * (time.process_time() - started) / count
    finally:
        await request.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    port = multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=serve, args=(port,), daemon=True)
    server.start()
    while not port.value:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port.value}/bot{TOKEN}/sendMessage"
    clients = {"httpx (PTB's HTTPXRequest)": lambda: HTTPXRequest(connection_pool_size=CONNECTION_POOL_SIZE),
               "aiohttp (bot.http_client)": lambda: AiohttpRequest(connection_pool_size=CONNECTION_POOL_SIZE)}
    figures: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(args.rounds):
        for name, make in clients.items():
            figures[name].append(round(asyncio.run(cpu_per_request_ms(make(), url, args.requests, args.in_flight)), 3))
    server.terminate()
    for name, values in figures.items():
        print(f"{name}: {' / '.join(f'{v:.2f}' for v in values)} ms of CPU per request "
              f"({args.in_flight} in flight, {args.requests} requests per round)")
    print(f"load average {os.getloadavg()[0]:.2f} (1 min)")
    save("http_clients", {"requests": args.requests, "in_flight": args.in_flight, "pool": CONNECTION_POOL_SIZE,
                          "cpu_ms_per_request": figures})


if __name__ == "__main__":
    main()
