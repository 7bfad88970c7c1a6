"""benchmarks/gpu_families.py cannot rot: its smoke mode (tiny models written in each family's real layout,
through the engine on the CPU) runs in CI, and its full-size files are the real architectures (checked on the
meta device: the families they read as and their parameter counts)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_families.py"


def test_the_smoke_mode_measures_every_family_with_default_and_fp8_weights(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--tiny", "--threads", "1", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert [(r["family"], r["weights"]) for r in rows] == [
        (family, weights) for family in ("Flux.1-dev", "SD3.5 large", "Z-Image Turbo", "Flux.2 klein 4B",
                                         "Flux.2 klein 9B") for weights in ("bf16", "fp8")]
    for row in rows:
        assert row["it_s"] > 0 and row["finite"] is True, row
        assert row["linear_weights"] == ("float8_e4m3fn" if row["weights"] == "fp8" else "float32"), row
    assert "| Z-Image Turbo | fp8 (float8_e4m3fn) |" in (tmp_path / "results.md").read_text(encoding="utf-8")


def test_it_refuses_full_size_runs_without_cuda() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 2 and "CUDA is not available" in done.stderr


def test_the_full_size_files_are_the_real_architectures() -> None:
    from benchmarks.gpu_families import CASES, original_shapes
    from inkgraph.nodes.diffusion.families import detect
    from inkgraph.nodes.diffusion.state_dict import TensorIndex, TensorInfo

    expected = {"flux_dev": ("flux", "dev", 11.90), "sd35_large": ("sd3", "3.5", 8.15),
                "z_image_turbo": ("z_image", "z_image", 6.15), "flux2_klein_4b": ("flux2", "klein", 3.88),
                "flux2_klein_9b": ("flux2", "klein", 9.08)}
    for name, case in CASES.items():
        shapes = original_shapes(case, tiny=False)
        found = detect(TensorIndex({k: TensorInfo(v, "BF16") for k, v in shapes.items()}, {}), case.file)
        billions = sum(math.prod(shape) for shape in shapes.values()) / 1e9
        assert (found.family.name, found.variant, round(billions, 2)) == expected[name]
