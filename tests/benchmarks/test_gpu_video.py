"""benchmarks/gpu_video.py's CPU smoke mode (what CI runs; the figures come from a CUDA device): the tiny Wan
2.2 TI2V workflow runs through the real engine and the script prints its figures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_cpu_tiny_mode_runs_the_ti2v_workflow_and_prints_figures() -> None:
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_video.py"), "--device", "cpu", "--tiny",
                           "--runs", "1"], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("Wan 2.2 TI2V 5B (tiny) 32x32 5 frames 2 steps fp32"), line
    assert re.search(r"\d+\.\d+ s/frame", line) and "peak VRAM" in line
