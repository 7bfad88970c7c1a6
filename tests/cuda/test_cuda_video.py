"""Wan on CUDA: the tiny TI2V model in bf16 with fp8 linear weights against the CPU in fp32, and the Wan VAE's
tiled decode against the whole one on the device. Skipped without CUDA (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.fixtures import tiny_video as tv

pytestmark = pytest.mark.cuda


def rel_error(got: torch.Tensor, ref: torch.Tensor) -> float:
    got, ref = got.detach().double().cpu(), ref.detach().double().cpu()
    return float((got - ref).norm() / ref.norm())


def test_wan_bf16_with_fp8_weights_on_cuda_follows_the_cpu(tmp_path: Path) -> None:
    from inkgraph.nodes.diffusion.families import load_diffusion_model

    path = tmp_path / "wan2.2_ti2v_5B_fp16.safetensors"
    tv.save_wan(tv.wan("ti2v", 1), path)
    cpu, detected = load_diffusion_model(path, torch.float32)
    gpu, _ = load_diffusion_model(path, torch.bfloat16, torch.float8_e4m3fn)
    gpu = gpu.to("cuda")
    adapter = detected.family.adapter(detected)
    x = torch.randn(1, 48, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    context = torch.randn(1, 512, tv.TEXT_WIDTH, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = adapter.apply(cpu, x, torch.tensor([500.0]), {"context": context})
        got = adapter.apply(gpu, x.cuda().bfloat16(), torch.tensor([500.0], device="cuda"),
                            {"context": context.cuda().bfloat16()})
    assert rel_error(got, ref) < 0.05


def test_wan_vae_tiled_decode_on_cuda_matches_the_whole(tmp_path: Path) -> None:
    from inkgraph.nodes.diffusion import video_vae

    vae = tv.wan_vae("2.1", 2).to("cuda")
    latent = torch.randn(1, 16, 5, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        whole = video_vae.decode(vae, latent)
        tiled = video_vae.decode_tiled(vae, latent, 64, 8, 64, 2)
    assert torch.allclose(whole, tiled, atol=1e-5)
