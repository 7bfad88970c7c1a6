"""LoRA training on CUDA (issue 23): bf16 autocast with bf16 LoRA weights, gradient checkpointing, fp8 Flux
weights, and the 8-bit optimizer when bitsandbytes is installed; the real shapes' figures come from
benchmarks/train_lora.py. Skipped without CUDA (tests/conftest.py)."""

from __future__ import annotations

import argparse
import importlib.util

import pytest
import torch

from benchmarks import train_lora

pytestmark = pytest.mark.cuda


@pytest.mark.parametrize("name", ["sdxl", "flux"])
def test_tiny_training_on_cuda_in_bf16_with_checkpointing(name: str) -> None:
    args = argparse.Namespace(tiny=True, device="cuda", steps=4, warmup=1, rank=4)
    row = train_lora.bench(name, args)
    assert row["losses_finite"] and row["lora_tensors"] > 0 and row["steps_per_s"] > 0
    assert 0 < row["peak_gib"] < 2


def test_eight_bit_optimizer_when_bitsandbytes_is_installed() -> None:
    from inkgraph.nodes.diffusion.train.loop import make_optimizer

    params = [torch.nn.Parameter(torch.zeros(64, 64, device="cuda"))]
    optimizer = make_optimizer("AdamW", params, 1e-4, torch.device("cuda"))
    expected = "AdamW8bit" if importlib.util.find_spec("bitsandbytes") else "AdamW"
    assert type(optimizer).__name__ == expected
    assert type(make_optimizer("SGD", params, 1e-4, torch.device("cuda"))).__name__ == "SGD"
