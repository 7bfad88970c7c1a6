"""Issue 15's adversarial pass against a live ``inkgraph serve``: each attack repeated, and what it cost.

Starts the server as a subprocess (empty base directory) and runs, ``--repeat`` times each:
- an 8 MB ``filename_prefix`` (was: 9 s of worker CPU and 175 MB kept for good);
- ``extra_data`` nested 976 deep (was: accepted, then /history and /api/jobs answered 500 for good);
- /view_metadata with an encoded folder leading out of models/ (was: the file's metadata);
- POST /prompt as a cross-site page could send it (text/plain) with Origin null, file://, or Host names
  that only resolve to loopback, and under DNS rebinding (was: queued);
- 200 MB uploads announced by Content-Length (was: ~100 MB kept per 413 until a full collection);
- numbers NaN / 1e999 / "Infinity" (was: 500, or stored and served as invalid JSON);
- the other 500s: deep JSON, a lone surrogate prompt_id, paging past SQLite's integers, transcoding a
  non-image, bad preview qualities, a non-ASCII token;
- /system_stats polled while a fresh server imports torch for its first prompt (was: 10 of ~20,000 polls 500).

Prints a table: attack, attempts, failures (a failure is any answer other than the refusal expected), and the
server's RSS and CPU time around the memory and CPU attacks. The websocket buffer is ``benchmarks/soak.py``;
symlinks and model previews need files planted on the server's disk and are covered by the tests.

Run: ``python benchmarks/attack.py [--repeat 20]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_overhead import free_port, rss_mib, wait_ready  # noqa: E402

CHAIN = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
         "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "a"}}}
Check = Callable[[aiohttp.ClientSession, str, int], Awaitable[bool]]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def status(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> int:
    async with session.request(method, url, **kwargs) as response:
        await response.read()
        return response.status


async def readers_ok(session: aiohttp.ClientSession, base: str) -> bool:
    for path in ("/history", "/queue", "/api/jobs"):
        async with session.get(base + path) as response:
            if response.status != 200:
                return False
            json.loads(await response.text(), parse_constant=lambda name: 1 / 0)  # NaN/Infinity: not JSON
    return True


async def long_prefix(session: aiohttp.ClientSession, base: str, i: int) -> bool:
    prompt = json.loads(json.dumps(CHAIN))
    prompt["2"]["inputs"]["filename_prefix"] = "p" * (8 << 20)
    return await status(session, "POST", base + "/prompt", json={"prompt": prompt}) == 400


async def deep_extra(session: aiohttp.ClientSession, base: str, i: int) -> bool:
    body = json.dumps({"prompt": CHAIN})[:-1] + ', "extra_data": {"x": ' + "[" * 976 + "]" * 976 + "}}"
    refused = await status(session, "POST", base + "/prompt", data=body,
                           headers={"Content-Type": "application/json"}) == 400
    return refused and await readers_ok(session, base)


OUTSIDE: list[str] = []  # the base folder's outside/ (beside models/), set by attack()


async def metadata_escape(session: aiohttp.ClientSession, base: str, i: int) -> bool:
    folder = ("..%2Foutside", quote(OUTSIDE[0], safe=""), "loras%2F..%2F..%2Foutside")[i % 3]
    async with session.get(f"{base}/view_metadata/{folder}?filename=secret.safetensors") as response:
        return response.status in (403, 404) and "yes" not in await response.text()


async def foreign_origin(session: aiohttp.ClientSession, base: str, i: int) -> bool:
    port = base.rsplit(":", 1)[1]
    headers = ({"Origin": "null"}, {"Origin": "file://"}, {"Host": f"localhost.:{port}"},
               {"Host": f"foo.localhost:{port}"}, {"Host": f"0.0.0.0:{port}"}, {"Host": f"127.1:{port}"},
               {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"})[i % 7]
    return await status(session, "POST", base + "/prompt", data=json.dumps({"prompt": CHAIN}),
                        headers={"Content-Type": "text/plain", **headers}) == 403


async def huge_upload(session: aiohttp.ClientSession, base: str, i: int) -> bool:
    host, port = base.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write((f"POST /upload/image HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: multipart/form-data; "
                      f"boundary=B\r\nContent-Length: {200 << 20}\r\n\r\n").encode() + b"--B\r\n" + b"x" * (1 << 20))
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 5)
        return line.split()[1] == b"413"
    except (TimeoutError, ConnectionError, IndexError):  # no answer before the body: it is being read
        return False
    finally:
        writer.close()


async def non_finite(session: aiohttp.ClientSession, base: str, i: int) -> bool:
    literal = ("NaN", "1e999", "-Infinity", '"nan"', '"Infinity"')[i % 5]
    body = json.dumps({"prompt": CHAIN})[:-1] + ', "number": ' + literal + "}"
    refused = await status(session, "POST", base + "/prompt", data=body,
                           headers={"Content-Type": "application/json"}) == 400
    return refused and await readers_ok(session, base)


async def former_500s(session: aiohttp.ClientSession, base: str, i: int) -> bool:
    cases: list[tuple[str, str, dict[str, Any], tuple[int, ...]]] = [
        ("POST", "/queue", {"data": "[" * 990 + "]" * 990}, (400,)),
        ("POST", "/prompt", {"data": '{"prompt": {}, "prompt_id": "\\ud800"}'}, (400,)),
        ("GET", "/history?max_items=99999999999999999999", {}, (400,)),
        ("GET", "/history?offset=99999999999999999999", {}, (400,)),
        ("GET", "/view?filename=notes.txt&preview=webp;90", {}, (400, 404)),
        ("GET", "/view?filename=a_00001_.png&preview=webp;1000", {}, (400, 404)),
        ("GET", "/view?filename=a_00001_.png&preview=jpeg;%C2%B2", {}, (400, 404)),
    ]
    method, path, kwargs, expected = cases[i % len(cases)]
    return await status(session, method, base + path, **kwargs) in expected


ATTACKS: list[tuple[str, Check]] = [
    ("8 MB filename_prefix", long_prefix), ("extra_data nested 976 deep", deep_extra),
    ("/view_metadata folder out of models/", metadata_escape), ("cross-site POST /prompt", foreign_origin),
    ("200 MB upload (Content-Length)", huge_upload), ("NaN / Infinity numbers", non_finite),
    ("former 500s (deep JSON, surrogate, paging, /view)", former_500s),
]


def start(base: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "inkgraph.engine.cli", "serve", "--base-dir", base, "--port",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:  # still busy with an attack's prompt
        process.kill()
        process.wait()


async def stats_while_torch_imports(starts: int) -> tuple[int, int]:
    """Fresh servers; /system_stats polled while the first prompt imports torch. (polls, non-200 answers)."""
    polls = failures = 0
    for _ in range(starts):
        port = free_port()
        process = start(tempfile.mkdtemp(prefix="inkgraph-attack-"), port)
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_ready(port, time.perf_counter())
            async with aiohttp.ClientSession() as session:
                await status(session, "POST", base + "/prompt", json={"prompt": CHAIN})
                deadline = time.perf_counter() + 15
                while time.perf_counter() < deadline:
                    polls += 1
                    failures += await status(session, "GET", base + "/system_stats") != 200
                    async with session.get(base + "/history") as response:
                        if await response.json():
                            break
        finally:
            stop(process)
    return polls, failures


async def attack(repeat: int, starts: int) -> None:
    folder = tempfile.mkdtemp(prefix="inkgraph-attack-")
    (Path(folder) / "outside").mkdir()
    OUTSIDE[:] = [str(Path(folder) / "outside")]
    header = json.dumps({"__metadata__": {"secret": "yes"}}).encode()
    (Path(folder) / "outside" / "secret.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)
    (Path(folder) / "output").mkdir()
    (Path(folder) / "output" / "notes.txt").write_text("not an image")
    port = free_port()
    process = start(folder, port)
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        await wait_ready(port, time.perf_counter())
        async with aiohttp.ClientSession() as session:
            await status(session, "POST", base + "/prompt", json={"prompt": CHAIN})  # torch, one saved image
            await asyncio.sleep(5)
            for name, check in ATTACKS:
                rss, cpu = rss_mib(process.pid), cpu_seconds(process.pid)
                failures = 0
                for i in range(repeat):
                    try:
                        failures += not await check(session, base, i)
                    except (aiohttp.ClientError, ValueError, ZeroDivisionError):  # a dropped or unparsable answer
                        failures += 1
                rows.append((name, repeat, failures, rss_mib(process.pid) - rss, cpu_seconds(process.pid) - cpu))
            try:
                alive = await readers_ok(session, base)
            except (aiohttp.ClientError, ValueError, ZeroDivisionError):
                alive = False
    finally:
        stop(process)
    polls, stat_failures = await stats_while_torch_imports(starts)
    print(f"{'attack':52} {'attempts':>8} {'failures':>8} {'RSS +MiB':>9} {'CPU s':>6}")
    for name, attempts, failures, rss, cpu in rows:
        print(f"{name:52} {attempts:>8} {failures:>8} {rss:>+9.1f} {cpu:>6.2f}")
    print(f"{f'/system_stats while torch imports ({starts} fresh starts)':52} {polls:>8} {stat_failures:>8}")
    print(f"/history, /queue, /api/jobs answer 200 with strict JSON afterwards: {alive}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="attempts per attack (default 20)")
    parser.add_argument("--starts", type=int, default=5, help="fresh servers for the /system_stats check")
    args = parser.parse_args()
    asyncio.run(attack(args.repeat, args.starts))


if __name__ == "__main__":
    main()
