"""GPU paths that must never regress. Skipped without CUDA (tests/conftest.py); the GPU check
(benchmarks/gpu_check.py, section pytest_cuda) runs them on every device it is given."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from tests.fixtures.tiny_sd import build, save_single_file

pytestmark = pytest.mark.cuda


def rel_error(got: torch.Tensor, ref: torch.Tensor) -> float:
    got, ref = got.detach().double().cpu(), ref.detach().double().cpu()
    return float((got - ref).norm() / ref.norm())


def test_sdxl_vae_decodes_without_nan_in_bf16_where_fp16_overflows() -> None:
    """SDXL's VAE architecture with decoder activations past fp16's 65504, as the real weights have: fp16
    gives NaN, bf16 stays finite and close to fp32."""
    from diffusers import AutoencoderKL

    from inkgraph.nodes.diffusion.checkpoint import shipped_configs

    torch.manual_seed(0)
    vae = AutoencoderKL.from_config(shipped_configs("sdxl_base")["vae"]).eval().requires_grad_(False)
    latent = torch.randn(1, 4, 32, 32)
    with torch.no_grad():
        peak = vae.decoder.conv_in(vae.post_quant_conv(latent)).abs().max()
        vae.decoder.conv_in.weight.mul_(1e6 / peak)
        vae.decoder.conv_in.bias.mul_(1e6 / peak)
    out = {}
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        model = copy.deepcopy(vae).to("cuda", dtype)
        with torch.inference_mode():
            out[dtype] = model.decode(latent.to("cuda", dtype)).sample.float().cpu()
    assert not torch.isfinite(out[torch.float16]).all()
    assert torch.isfinite(out[torch.bfloat16]).all()
    assert rel_error(out[torch.bfloat16], out[torch.float32]) < 6e-2


def test_fp8_storage_on_cuda_matches_fp32_within_tolerance() -> None:
    from inkgraph.nodes.diffusion.weights import FP8Linear, quantize_linears, store_fp8

    generator = torch.Generator().manual_seed(1)
    layer = torch.nn.Linear(3072, 12288)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(12288, 3072, generator=generator) / 3072**0.5)
    x = torch.randn(1, 1024, 3072, generator=generator)
    expected = layer(x)
    for fp8, tolerance in ((torch.float8_e4m3fn, 0.12), (torch.float8_e5m2, 0.25)):
        stored = copy.deepcopy(layer)
        store_fp8(stored, fp8)
        stored = stored.to("cuda")
        stored.bias = torch.nn.Parameter(stored.bias.to(torch.bfloat16), requires_grad=False)
        assert isinstance(stored, FP8Linear) and stored.weight.dtype == fp8
        with torch.inference_mode():
            got = stored(x.to("cuda", torch.bfloat16))
        assert torch.isfinite(got).all()
        assert rel_error(got, expected) < tolerance
    unet = build("sd1", seed=4)["unet"].eval().requires_grad_(False)
    quantized = copy.deepcopy(unet)
    assert quantize_linears(quantized, torch.float8_e4m3fn) > 0
    inputs = (torch.randn(2, 4, 16, 16), torch.tensor([500.0, 500.0]), torch.randn(2, 77, 32))
    with torch.inference_mode():
        reference = unet(*inputs, return_dict=False)[0]
        on_gpu = quantized.to("cuda")(*(t.to("cuda") for t in inputs), return_dict=False)[0]
    assert rel_error(on_gpu, reference) < 0.12


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_sdpa_on_cuda_matches_float64(dtype: torch.dtype) -> None:
    import torch.nn.functional as F  # noqa: N812

    q, k, v = (torch.randn(2, 8, 1024, 64, device="cuda").to(dtype) for _ in range(3))
    expected = F.scaled_dot_product_attention(q.double(), k.double(), v.double())
    got = F.scaled_dot_product_attention(q, k, v)
    limit = {torch.float16: 5e-3, torch.bfloat16: 3e-2, torch.float32: 1e-4}[dtype]
    assert rel_error(got, expected) < limit


def _txt2img(ckpt: str) -> dict[str, Any]:
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red circle", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "3": {"class_type": "KSampler", "inputs": {"seed": 3, "steps": 3, "cfg": 7.0, "sampler_name": "euler",
                                                   "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                                                   "positive": ["6", 0], "negative": ["7", 0],
                                                   "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "cuda"}},
    }


def test_fp16_on_cuda_keeps_the_vae_in_bf16_and_matches_the_cpu(tmp_path: Path) -> None:
    """The default CUDA policy (fp16, the VAE never fp16, the UNet channels-last) gives the CPU's image."""
    import numpy as np
    from PIL import Image

    save_single_file("sdxl", tmp_path / "models" / "checkpoints" / "tiny.safetensors", seed=1)
    images = {}
    for device in ("cuda", "cpu"):
        runtime = Runtime.create(Settings(base_dir=tmp_path, device=device, cache="none"))
        _, outcome = runtime.run(_txt2img("tiny.safetensors"))
        assert outcome is not None and outcome.status_str == "success", outcome
        item = outcome.outputs["9"]["images"][0]
        with Image.open(runtime.folders.resolve(item["type"], item["filename"], item["subfolder"])) as png:
            images[device] = torch.from_numpy(np.asarray(png, dtype="float32").copy())
        if device == "cuda":
            assert runtime.models.policy.dtype == "fp16"
            models = {str(key[-1]): entry.model for key, entry in runtime.models._entries.items()  # type: ignore[index]
                      }
            assert next(models["vae"].parameters()).dtype == torch.bfloat16
            conv = models["unet"].conv_in.weight
            assert conv.is_contiguous(memory_format=torch.channels_last)
    assert (images["cuda"] - images["cpu"]).abs().mean() < 2.0  # 8-bit pixels: on average within 2 levels


def test_model_manager_moves_models_to_cuda_and_back_under_low_vram() -> None:
    from inkgraph.engine.core.devices import DevicePolicy, ModelManager, VramMode

    manager = ModelManager.with_policy(DevicePolicy(device="cuda", dtype="fp16", mode=VramMode.LOW))
    manager.add("layer", torch.nn.Linear(1024, 1024))
    before = torch.cuda.memory_allocated()
    with manager.use("layer") as (layer,):
        assert layer.weight.device.type == "cuda"
        assert torch.cuda.memory_allocated() - before >= 1024 * 1024 * 4
    assert manager.loaded()[0]["on_device"] is False
    assert layer.weight.device.type == "cpu"
    assert torch.cuda.memory_allocated() - before < 1024 * 1024
