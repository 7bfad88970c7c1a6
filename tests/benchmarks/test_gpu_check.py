"""The GPU check (benchmarks/gpu_check.py) itself: its CPU mode runs end to end, as it will on a GPU, and
its supervisor cuts a section that overruns and survives one that crashes."""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.gpucheck import plan

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"


def run_check(out: Path, *args: str, timeout: float = 300) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return done, report


def test_quick_mode_fits_the_device_tools_limit() -> None:
    assert plan.quick_total_s() < plan.QUICK_LIMIT_S <= 480
    for section in plan.SECTIONS:
        module = importlib.import_module(f"benchmarks.gpucheck.sections.{section.name}")
        assert callable(module.run), section.name
        assert section.quick_s <= section.full_s


def test_cpu_quick_mode_runs_every_section_and_writes_the_report(tmp_path: Path) -> None:
    """What CI runs: tiny models on the CPU, every section that applies there passes, the others say why."""
    done, report = run_check(tmp_path, "--device", "cpu", "--quick", "--threads", "1", "--budget-scale", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    statuses = {section["name"]: section["status"] for section in report["sections"]}
    assert set(statuses) == {*plan.default_names(), "network"}
    assert all(status in ("pass", "skip") for status in statuses.values()), statuses
    for name in ("env", "tiny", "attention", "fp8", "vae", "tiled_vae", "lora", "previews", "interrupt", "memory",
                 "compile", "speed_sd15", "speed_sdxl", "network"):
        assert statuses[name] == "pass", name
    flux = next(s for s in report["sections"] if s["name"] == "flux")
    # on the CPU the Flux.1-dev section says why it does not run (no family, or a model too large for a CPU)
    assert flux["status"] == "pass" or any(w in flux["notes"][0] for w in ("not available", "GPU check only"))
    assert report["finished"] is True
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## tiny" in markdown and "rel. L2" in markdown
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md", "worker.log"]


def test_a_section_that_overruns_is_cut_and_a_crash_is_survived(tmp_path: Path) -> None:
    done, report = run_check(tmp_path, "--sections", "selftest_sleep,selftest_crash,selftest_sleep",
                             "--budget", "selftest_sleep=1", timeout=120)
    assert done.returncode == 1
    sections = report["sections"]
    assert [s["status"] for s in sections] == ["timeout", "crash", "timeout", "pass"]
    assert sections[0]["checks"][0]["name"] == "recorded before the cut"  # streamed before the cut
    assert sections[1]["checks"][0]["name"] == "recorded before the crash"
    assert "exit code 3" in sections[1]["error"]
    assert "[ 3/3] selftest_sleep timeout" in done.stdout


def test_the_random_flux_file_has_flux1_devs_architecture() -> None:
    """11.9 B parameters in Black Forest Labs' key layout (written only when the Flux family exists)."""
    from benchmarks.gpucheck.sections.flux import FLUX_DEV, shapes

    layout = shapes(FLUX_DEV)
    assert sum(math.prod(shape) for shape in layout.values()) == 11_901_408_320
    assert layout["double_blocks.18.img_attn.qkv.weight"] == (9216, 3072)
    assert layout["single_blocks.37.linear1.weight"] == (21504, 3072)
    assert layout["guidance_in.in_layer.weight"] == (3072, 256)
