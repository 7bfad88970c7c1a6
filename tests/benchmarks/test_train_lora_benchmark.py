"""benchmarks/train_lora.py's CPU smoke mode: tiny SDXL and Flux shapes train through TrainLoraNode's loop
and the figures come out (CUDA runs the real shapes)."""

from __future__ import annotations

from pathlib import Path

from benchmarks import train_lora


def test_cpu_tiny_mode_trains_both_models_and_reports(tmp_path: Path) -> None:
    rows = train_lora.main(["--device", "cpu", "--tiny", "--json", str(tmp_path / "figures.json")])
    assert [row["model"] for row in rows] == ["sdxl", "flux"]
    for row in rows:
        assert row["shape"] == "tiny" and row["steps_per_s"] > 0 and row["lora_tensors"] > 0 and row["losses_finite"]
    assert (tmp_path / "figures.json").read_text().count('"steps_per_s"') == 2
