"""``inkgraph serve``'s log at the default level, as ComfyUI's reads: what loaded at start (and what did
not), then one line per prompt received and per prompt run, and a failure with its traceback."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.browser.conftest import start_server

GOOD = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "log"}}}
FAILING = {**GOOD, "3": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 20, "sigma": 1.0}},
           "2": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "log"}}}


def post(url: str, prompt: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{url}/prompt", data=json.dumps({"prompt": prompt}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for_history(url: str, prompt_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/history/{prompt_id}", timeout=10) as response:  # noqa: S310
            if json.loads(response.read()):
                return
        time.sleep(0.2)
    raise AssertionError(f"prompt {prompt_id} never finished")


def test_the_default_log_reads_like_comfyuis(tmp_path: Path) -> None:
    (tmp_path / "custom_nodes").mkdir()
    (tmp_path / "custom_nodes" / "broken_pack.py").write_text("import nothing_of_that_name\n")
    server = start_server(tmp_path)
    try:
        status, body = post(server.url, GOOD)
        assert status == 200
        wait_for_history(server.url, body["prompt_id"])
        status, body = post(server.url, FAILING)
        assert status == 200
        wait_for_history(server.url, body["prompt_id"])
        status, _ = post(server.url, {"1": {"class_type": "SaveImage", "inputs": {}}})
        assert status == 400
    finally:
        log = server.stop()
    lines = log.splitlines()
    summary = [line for line in lines if line.startswith("Node packs: ")]
    assert len(summary) == 1 and "built-in:" in summary[0]
    assert "1 failed: broken_pack (ModuleNotFoundError: No module named 'nothing_of_that_name')" in summary[0]
    assert lines.count("got prompt") == 3
    executed = [line for line in lines if line.startswith("Prompt executed in ")]
    assert len(executed) == 2 and all(line.endswith(" seconds") for line in executed)
    assert any(line.startswith("!!! Exception during processing !!!") and "ImageBlur" in line for line in lines)
    assert "Traceback (most recent call last):" in log
    assert any(line.startswith("invalid prompt: {'type': 'prompt_outputs_failed_validation'") for line in lines)
