"""Ctrl+C during ``inkgraph run``: SIGINT to a real subprocess while a node runs.

The first Ctrl+C stops the running node cooperatively, keeps what was already written, prints
"interrupted" and exits 2; a second one exits 2 at once even while a node ignores interruption and keeps
torch busy. Neither may end in a traceback or an abort (exit 134, "terminate called …").
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from inkgraph.engine.core.resources import workflows_folder

REPO = Path(__file__).resolve().parents[2]

# A node that keeps torch's thread pool busy and never checks for interruption.
STUBBORN_PACK = '''
import time

class Stubborn:
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "run"
    CATEGORY = "testing"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"image": ("IMAGE",)}}

    def run(self, image):
        import torch
        print("stubborn: started", flush=True)
        a = torch.randn(256, 256)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            a = torch.tanh(a @ a)
        return (image,)

NODE_CLASS_MAPPINGS = {"Stubborn": Stubborn}
'''


def start_run(workflow: Path, base: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "inkgraph.engine.cli", "run", str(workflow), "--base-dir",
                             str(base)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for_line(stream: object, needle: str, timeout: float = 120) -> str:
    """Read ``stream`` until a line contains ``needle``; everything read so far."""
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()  # type: ignore[attr-defined]
        if not line:
            break
        seen += line
        if needle in line:
            return seen
    raise AssertionError(f"never saw {needle!r}; got:\n{seen}")


def finish(process: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"still running {timeout} s after Ctrl+C:\n{err}") from None


def test_ctrl_c_mid_sampling_stops_cleanly_and_keeps_what_was_written(tmp_path: Path) -> None:
    folder = workflows_folder()
    assert folder is not None
    prompt = json.loads((folder / "txt2img.json").read_text())
    # an output that can be written before sampling starts (output nodes run as soon as they can)
    prompt["90"] = {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}}
    prompt["91"] = {"class_type": "SaveImage", "inputs": {"images": ["90", 0], "filename_prefix": "early"}}
    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps(prompt))
    base = tmp_path / "base"
    process = start_run(workflow, base)
    before = wait_for_line(process.stderr, "KSampler: ")
    process.send_signal(signal.SIGINT)
    out, err = finish(process, 60)
    err = before + err
    assert process.returncode == 2, err
    assert "interrupted" in err.splitlines()[-1]
    assert "Traceback" not in err and "terminate called" not in err
    early = base / "output" / "early_00001_.png"
    assert early.is_file()
    assert out.splitlines() == [str(early)]  # the files written before the interruption are still listed
    assert not list((base / "output").glob("inkgraph-demo_*"))


def test_second_ctrl_c_exits_at_once_while_a_node_ignores_the_first(tmp_path: Path) -> None:
    base = tmp_path / "base"
    (base / "custom_nodes").mkdir(parents=True)
    (base / "custom_nodes" / "stubborn.py").write_text(STUBBORN_PACK)
    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps({
        "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
        "2": {"class_type": "Stubborn", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "late"}},
    }))
    process = start_run(workflow, base)
    assert process.stdout is not None
    wait_for_line(process.stdout, "stubborn: started")
    process.send_signal(signal.SIGINT)
    time.sleep(1.0)
    assert process.poll() is None, "the first Ctrl+C only asks the node to stop"
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, err = finish(process, 20)
    assert time.monotonic() - sent < 10
    assert process.returncode == 2, err
    assert err.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in err and "terminate called" not in err
