"""Server overhead: start-up, memory, and end-to-end prompt latency over HTTP + websocket.

Starts ``inkgraph serve`` as a subprocess (empty base directory), then:
- start-up: seconds from launch to the first 200 from /system_stats, and the process RSS then;
- for graphs of ImageInvert nodes on a 64×64 image (chain: EmptyImage → N × ImageInvert → SaveImage;
  fan: one source, N parallel inverts blended back pairwise; fanx: N distinct source → invert → save
  branches) with N = 10, 100, 1,000: the time from POST /prompt to ``executing {node: null}`` on the
  websocket, cold, unchanged (fully cached) and tail-changed (only the save re-runs), and the
  websocket bytes each cold run sent. Times are medians of ``--repeat`` runs, each on new inputs.

Run: ``python benchmarks/server_overhead.py [--sizes 10 100 1000]``
Targets (issue 4): start ≤ 1.5 s, ≤ 200 MiB when ready, ≥ 5× faster than ComfyUI at 100 and 900
nodes (ComfyUI here: 9 ms cold 12-node chain, 172 ms cold 102-node chain, 15.5 s cold 902-node chain,
14.5 s for its cached re-run), websocket bytes linear in graph size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inkgraph.engine.core.graph_builder import GraphBuilder  # noqa: E402


def build(shape: str, n: int, tail: str = "a", head: int = 0) -> dict[str, Any]:
    """``head`` picks the source colour: a new head makes every node a cache miss (a cold run)."""
    g = GraphBuilder()
    if shape == "chain":
        prev = g.node("EmptyImage", width=64, height=64, batch_size=1, color=head)
        for _ in range(n):
            prev = g.node("ImageInvert", image=prev.out())
        g.node("SaveImage", images=prev.out(), filename_prefix=f"bench_{tail}")
    elif shape == "fan":
        src = g.node("EmptyImage", width=64, height=64, batch_size=1, color=head)
        layer = [g.node("ImageInvert", image=src.out()) for _ in range(n)]
        while len(layer) > 1:
            layer = [g.node("ImageBlend", image1=layer[i].out(), image2=layer[i + 1].out(), blend_factor=0.5,
                            blend_mode="normal") if i + 1 < len(layer) else layer[i]
                     for i in range(0, len(layer), 2)]
        g.node("SaveImage", images=layer[0].out(), filename_prefix=f"bench_{tail}")
    else:
        for i in range(n):
            src = g.node("EmptyImage", width=64, height=64, batch_size=1, color=head * 10007 + i)
            inv = g.node("ImageInvert", image=src.out())
            g.node("SaveImage", images=inv.out(), filename_prefix=f"bench_{tail}")
    return g.finalize()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def wait_ready(port: int, started: float) -> float:
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/system_stats") as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except aiohttp.ClientError:
                await asyncio.sleep(0.01)


async def run_prompt(session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse, port: int,
                     client_id: str, prompt: dict[str, Any]) -> tuple[float, int]:
    prompt_id = str(uuid.uuid4())
    received = 0
    start = time.perf_counter()
    async with session.post(f"http://127.0.0.1:{port}/prompt",
                            json={"prompt": prompt, "client_id": client_id, "prompt_id": prompt_id}) as response:
        assert response.status == 200, await response.text()
    while True:
        msg = await ws.receive()
        received += len(msg.data) if isinstance(msg.data, (str, bytes)) else 0
        if msg.type == aiohttp.WSMsgType.TEXT:
            data = json.loads(msg.data)
            if data["type"] == "execution_error":
                raise RuntimeError(data["data"]["exception_message"])
            if data["type"] == "executing" and data["data"]["node"] is None and data["data"]["prompt_id"] == prompt_id:
                return time.perf_counter() - start, received
        elif msg.type != aiohttp.WSMsgType.BINARY:
            raise RuntimeError(f"websocket closed: {msg}")


async def bench(sizes: list[int], shapes: list[str], repeat: int) -> None:
    base = tempfile.mkdtemp(prefix="inkgraph-bench-")
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "inkgraph.engine.cli", "serve", "--base-dir", base, "--port",
                                str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        ready = await wait_ready(port, started)
        print(f"start-up to first 200 from /system_stats: {ready:.2f} s; RSS when ready: "
              f"{rss_mib(process.pid):.0f} MiB")
        client_id = uuid.uuid4().hex
        async with aiohttp.ClientSession() as session, session.ws_connect(
                f"http://127.0.0.1:{port}/ws?clientId={client_id}") as ws:
            await ws.receive()
            await run_prompt(session, ws, port, client_id, build("chain", 1, "warm"))  # torch import
            print(f"{'shape':5} {'N':>5} {'nodes':>6} {'cold ms':>9} {'cached ms':>9} {'tail ms':>9} "
                  f"{'ws KiB cold':>11} {'ws B/node':>9}")
            head = 1
            for shape in shapes:
                for n in sizes:
                    runs = []
                    for _ in range(repeat if n < 1000 or shape == "chain" else 1):
                        head += 1
                        prompt = build(shape, n, head=head)
                        cold, cold_bytes = await run_prompt(session, ws, port, client_id, prompt)
                        cached, _ = await run_prompt(session, ws, port, client_id, prompt)
                        tail, _ = await run_prompt(session, ws, port, client_id,
                                                   build(shape, n, tail=f"b{head}", head=head))
                        runs.append((cold, cached, tail))
                    cold, cached, tail = (statistics.median(r[i] for r in runs) for i in range(3))
                    print(f"{shape:5} {n:>5} {len(prompt):>6} {cold * 1e3:>9.1f} {cached * 1e3:>9.1f} "
                          f"{tail * 1e3:>9.1f} {cold_bytes / 1024:>11.1f} {cold_bytes / len(prompt):>9.0f}",
                          flush=True)
        print(f"RSS after the runs: {rss_mib(process.pid):.0f} MiB")
    finally:
        process.terminate()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--shapes", nargs="+", default=["chain", "fan", "fanx"])
    parser.add_argument("--repeat", type=int, default=3, help="median of this many runs per graph")
    args = parser.parse_args()
    asyncio.run(bench(args.sizes, args.shapes, args.repeat))


if __name__ == "__main__":
    main()
