"""Nothing queued is lost: the queue and history survive a restart and a SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from inkgraph.engine.core.queue import PromptQueue, QueueItem

SLOW_PACK = '''
import time
from typing import Annotated, Any
from inkgraph.engine import Context, Float, NodeOutput, Socket, node

@node(category="test", output_node=True, outputs=[])
def SlowSave(ctx: Context, label: str = "", seconds: Annotated[float, Float(min=0.0, max=60.0)] = 1.0) -> NodeOutput:
    """Sleeps, checking for interruption, then reports its label."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ctx.check_interrupted()
        time.sleep(0.02)
    return NodeOutput(ui={"text": [label]})

NODES = [SlowSave]
'''


def item(prompt_id: str, number: float) -> QueueItem:
    return QueueItem(number=number, prompt_id=prompt_id, prompt={"1": {"class_type": "X", "inputs": {}}},
                     extra_data={"create_time": 1}, outputs_to_execute=["1"], sensitive={"api_key_comfy_org": "s"})


def test_queue_survives_reopen_and_running_prompt_becomes_failed(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    queue = PromptQueue(db)
    for prompt_id, number in (("c", 3), ("a", 1), ("b", 2), ("front", -4)):
        queue.put(item(prompt_id, number))
    got = queue.get(timeout=1)
    assert got is not None and got[1].prompt_id == "front"
    queue.close()  # no task_done: as if the process died while "front" ran
    reopened = PromptQueue(db)
    assert reopened.recovered_failures == ["front"]
    assert [i.prompt_id for i in reopened.pending()] == ["a", "b", "c"]
    assert all(i.sensitive == {} for i in reopened.pending())  # secrets never reached the disk
    entry = reopened.history("front")["front"]
    assert entry["status"]["status_str"] == "error"
    assert entry["status"]["messages"][-1][1]["exception_type"] == "ServerStopped"
    assert reopened.next_number() == 4
    reopened.close()
    assert b"api_key_comfy_org" not in db.read_bytes()


def test_history_is_bounded(tmp_path: Path) -> None:
    queue = PromptQueue(tmp_path / "q.db", max_history=3)
    for n in range(5):
        queue.put(item(f"p{n}", n))
        task_id, _ = queue.get(timeout=1) or (None, None)
        assert task_id is not None
        queue.task_done(task_id, {}, {"status_str": "success", "completed": True, "messages": []}, {})
    assert list(queue.history()) == ["p2", "p3", "p4"]
    queue.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(base: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "inkgraph.engine.cli", "serve", "--base-dir", str(base),
                             "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def call(port: int, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def wait_for(predicate: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_sigkill_then_restart_runs_every_pending_prompt(tmp_path: Path) -> None:
    (tmp_path / "custom_nodes").mkdir()
    (tmp_path / "custom_nodes" / "slow.py").write_text(SLOW_PACK)
    port = free_port()
    process = start(tmp_path, port)
    try:
        wait_for(lambda: call(port, "/system_stats"))
        ids = []
        for n, seconds in enumerate((30.0, 0.2, 0.2, 0.2)):
            prompt = {"1": {"class_type": "SlowSave", "inputs": {"label": f"p{n}", "seconds": seconds}}}
            ids.append(call(port, "/prompt", {"prompt": prompt})["prompt_id"])
        wait_for(lambda: call(port, "/queue")["queue_running"])
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        process = start(tmp_path, port)
        wait_for(lambda: len(call(port, "/history")) == 4, timeout=60)
        history = call(port, "/history")
        assert list(history) == ids
        assert history[ids[0]]["status"]["status_str"] == "error"
        assert "stopped while this prompt was running" in history[ids[0]]["status"]["messages"][-1][1][
            "exception_message"]
        for prompt_id, n in zip(ids[1:], range(1, 4), strict=True):
            assert history[prompt_id]["status"]["status_str"] == "success"
            assert history[prompt_id]["outputs"] == {"1": {"text": [f"p{n}"]}}
    finally:
        process.kill()
        process.wait(10)
