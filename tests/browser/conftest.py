"""Browser tests: a real ``inkgraph serve`` subprocess and headless Chromium from Debian's package, driven by
Playwright (its own browser download cannot work offline; the system chromium is used instead)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    base: Path
    process: subprocess.Popen[str]
    log: Path  # its stdout and stderr: a file, so a chatty server never blocks on a full pipe

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_server(base: Path, *extra: str) -> Server:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    base.mkdir(parents=True, exist_ok=True)
    log = base / f"server-{port}.log"
    with log.open("w", encoding="utf-8") as output:  # the child keeps its own handle
        process = subprocess.Popen([sys.executable, "-m", "inkgraph.engine.cli", "serve", "--port", str(port),
                                    "--base-dir", str(base), *extra], cwd=REPO, env=env, stdout=output,
                                   stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text(encoding='utf-8', errors='replace')}")
        try:
            urllib.request.urlopen(f"{url}/system_stats", timeout=2).read()  # noqa: S310 (loopback)
            return Server(url, base, process, log)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not answer within 60 s")


@dataclass
class Traffic:
    """Every request the page made to our server: what failed, and the console's errors."""

    origin: str
    responses: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        def on_response(response: Any) -> None:
            if response.url.startswith(self.origin):
                self.responses[response.request.method + " " + response.url] = response.status
                if response.status >= 400:
                    self.failures.append(f"{response.status} {response.request.method} {response.url}")

        def on_failed(request: Any) -> None:
            key = request.method + " " + request.url
            # the frontend aborts its own fetches after reading them; only requests never answered count
            if request.url.startswith(self.origin) and key not in self.responses:
                self.failures.append(f"{request.failure} {key}")

        page.on("response", on_response)
        page.on("requestfailed", on_failed)
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module (Playwright's sync API holds an event loop while it is open, which
    the aiohttp tests of other modules must not run under)."""
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (test extra)")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does it)")
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
