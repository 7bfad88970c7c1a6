"""Soak: prompts for T seconds with M websocket clients, one of which never reads; memory must stay flat.

Starts ``inkgraph serve`` as a subprocess (empty base directory) and connects M websocket clients: M − 1 read
everything, one completes the handshake and then never reads a byte (its socket's receive buffer is 4 KiB).
Prompts (EmptyImage 64×64 → ImageInvert → PreviewImage, a new colour each time so nothing is cached; every
``--error-every``-th one fails at run time with a long error message) are queued with their ``client_id``
taken in turn from all M clients, so the one that never reads owns its share, keeping at most
``--window`` prompts queued. The server's RSS is sampled every second.

Prints: prompts/s, RSS at the end of warm-up and at the end, its highest value, its slope after warm-up
(least squares, MiB per minute), and for each client whether the server dropped it (the one that never reads
should be; none of the others). Issue 15: RSS stays flat after warm-up.

Run: ``python benchmarks/soak.py [--seconds 60] [--clients 4] [--prompts 0] [--window 8]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_overhead import free_port, rss_mib, wait_ready  # noqa: E402


def prompt(n: int, error: bool) -> dict[str, Any]:
    """A three-node prompt that is never a cache hit; with ``error``, SaveImage refuses its prefix at run time."""
    prefix = "../" + "x" * 190 if error else "soak"  # passes validation, leaves output/ when run
    out = {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": prefix}} if error else \
        {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}}
    return {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1,
                                                         "color": n % 0xFFFFFF}},
            "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
            "3": out}


@dataclass
class Reader:
    """A websocket client that reads everything."""

    sid: str
    messages: int = 0
    dropped: str | None = None

    async def run(self, session: aiohttp.ClientSession, port: int, stop: asyncio.Event) -> None:
        async with session.ws_connect(f"http://127.0.0.1:{port}/ws?clientId={self.sid}") as ws:
            while not stop.is_set():
                try:
                    msg = await ws.receive(timeout=0.5)
                except TimeoutError:
                    continue
                if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    self.messages += 1
                else:
                    if not stop.is_set():
                        self.dropped = f"{msg.type.name} {ws.close_code} {msg.extra or ''}".strip()
                    return


async def never_reading(port: int, sid: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Handshake, then never read: the server sees a client whose socket stays full."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws?clientId={sid} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    return reader, writer


async def was_closed(reader: asyncio.StreamReader) -> bool:
    """Read what the server left; True if it had ended the connection (EOF or reset)."""
    try:
        while await asyncio.wait_for(reader.read(1 << 20), 5.0):
            pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 3:
        return float("nan")
    times, values = [t for t, _ in samples], [v for _, v in samples]
    mean_t, mean_v = statistics.fmean(times), statistics.fmean(values)
    var = sum((t - mean_t) ** 2 for t in times)
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in samples) / var if var else float("nan")


async def soak(seconds: float, clients: int, limit: int, window: int, error_every: int, warmup: float,
               server_args: list[str]) -> None:
    base = tempfile.mkdtemp(prefix="inkgraph-soak-")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "inkgraph.engine.cli", "serve", "--base-dir", base, "--port",
                                str(port), *server_args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    stop = asyncio.Event()
    try:
        await wait_ready(port, time.perf_counter())
        readers = [Reader(uuid.uuid4().hex) for _ in range(clients - 1)]
        silent_sid = uuid.uuid4().hex
        async with aiohttp.ClientSession() as session:
            tasks = [asyncio.create_task(r.run(session, port, stop)) for r in readers]
            silent, silent_writer = await never_reading(port, silent_sid)
            owners = [r.sid for r in readers] + [silent_sid]
            samples: list[tuple[float, float]] = []
            sent = 0
            started = time.perf_counter()
            next_sample = started
            while time.perf_counter() - started < seconds and (not limit or sent < limit):
                async with session.get(f"http://127.0.0.1:{port}/prompt") as response:
                    remaining = (await response.json())["exec_info"]["queue_remaining"]
                for _ in range(max(0, window - remaining)):
                    body = {"prompt": prompt(sent, bool(error_every) and sent % error_every == error_every - 1),
                            "client_id": owners[sent % len(owners)]}
                    async with session.post(f"http://127.0.0.1:{port}/prompt", json=body) as response:
                        assert response.status == 200, await response.text()
                    sent += 1
                now = time.perf_counter()
                if now >= next_sample:
                    samples.append((now - started, rss_mib(process.pid)))
                    next_sample += 1.0
                await asyncio.sleep(0.02)
            while True:  # let the queue drain
                async with session.get(f"http://127.0.0.1:{port}/prompt") as response:
                    if (await response.json())["exec_info"]["queue_remaining"] == 0:
                        break
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            samples.append((elapsed, rss_mib(process.pid)))
            silent_closed = await was_closed(silent)
            silent_writer.close()
            stop.set()
            await asyncio.gather(*tasks)
        after = [(t, v) for t, v in samples if t >= warmup] or samples
        print(f"server: inkgraph serve {' '.join(server_args)}")
        print(f"{sent} prompts ({error_every and sent // error_every} failing) in {elapsed:.1f} s: "
              f"{sent / elapsed:.1f} prompts/s with {clients} websocket clients")
        print(f"RSS: {after[0][1]:.0f} MiB after {warmup:.0f} s of warm-up, {samples[-1][1]:.0f} MiB at the end, "
              f"{max(v for _, v in samples):.0f} MiB at most; slope after warm-up "
              f"{slope_per_minute(after):+.2f} MiB/min")
        quarters = [after[min(len(after) - 1, round(q * (len(after) - 1) / 4))] for q in range(5)]
        print("RSS after warm-up, by quarter: " + ", ".join(f"{v:.0f} MiB at {t:.0f} s" for t, v in quarters))
        for index, reader in enumerate(readers):
            print(f"reading client {index + 1}: {reader.messages} messages, "
                  f"{'dropped: ' + reader.dropped if reader.dropped else 'not dropped'}")
        print(f"client that never reads: {'dropped by the server' if silent_closed else 'still connected'}")
    finally:
        stop.set()
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to keep queueing (default 60)")
    parser.add_argument("--clients", type=int, default=4, help="websocket clients, one of them never reads")
    parser.add_argument("--prompts", type=int, default=0, help="stop after this many prompts (0: no limit)")
    parser.add_argument("--window", type=int, default=8, help="prompts kept queued (default 8)")
    parser.add_argument("--error-every", type=int, default=10, help="every Nth prompt fails (0: none)")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds before RSS should be flat")
    parser.add_argument("--server-args", default="--cache-ram 0.1",
                        help="extra 'inkgraph serve' options (default '--cache-ram 0.1': the result cache, which "
                        "grows by design up to its budget, fills within the warm-up)")
    args = parser.parse_args()
    if args.clients < 2:
        parser.error("--clients must be at least 2 (one reads, one never does)")
    asyncio.run(soak(args.seconds, args.clients, args.prompts, args.window, args.error_every, args.warmup,
                     args.server_args.split()))


if __name__ == "__main__":
    main()
