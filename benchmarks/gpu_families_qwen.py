"""Qwen-Image's rows of ``gpu_families.py``: seconds per step and peak VRAM of the full-size architecture.

Each row builds the family's full architecture with random weights straight on the GPU (no downloads:
the figures are of the architecture, not of trained weights), stores the linear weights as ComfyUI's fp8
files do (``weights.quantize_linears``), and times what a workflow does with it: the text encoder's
encoding of one prompt through the CLIP type's recipe, then sampling steps through the family's adapter
(the same call KSampler makes), with peak VRAM for each. The encoder is moved off the GPU before the
diffusion model is timed, as the model manager does before sampling on a card that cannot hold both.

Run (CUDA): ``python benchmarks/gpu_families.py --families qwen_image``.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

GiB = 2**30


def _peak() -> float:
    return torch.cuda.max_memory_allocated() / GiB


def _reset() -> None:
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()


def _random(module: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    with torch.no_grad():
        for param in module.parameters():
            param.normal_(0.0, 0.02)
    return module.to(dtype).eval().requires_grad_(False)


def qwen_image_rows(size: int = 1024, steps: int = 4, dtype: torch.dtype = torch.bfloat16) -> list[dict[str, Any]]:
    """Qwen-Image (20B, 60 blocks) in fp8 with Qwen2.5-VL 7B (fp8, vision tower included): the qwen_image
    recipe's encoding of one prompt, and ``steps`` sampling steps at ``size``² through QwenImageAdapter."""
    from diffusers import QwenImageTransformer2DModel
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLModel

    from inkgraph.nodes.diffusion.encoders import EncodeRequest
    from inkgraph.nodes.diffusion.encoders.qwen_image import QwenImage as Recipe
    from inkgraph.nodes.diffusion.families.qwen_image import QwenImage, QwenImageAdapter
    from inkgraph.nodes.diffusion.weights import quantize_linears

    rows: list[dict[str, Any]] = []
    _reset()
    with torch.device("cuda"):
        text = {"vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
                "num_attention_heads": 28, "num_key_value_heads": 4, "rms_norm_eps": 1e-6,
                "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]}}
        vision = {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16, "out_hidden_size": 3584}
        encoder = _random(Qwen2_5_VLModel(Qwen2_5_VLConfig(text_config=text, vision_config=vision, use_cache=False)),
                          dtype)
    quantize_linears(encoder, torch.float8_e4m3fn)
    torch.cuda.synchronize()
    weights = torch.cuda.memory_allocated() / GiB
    _reset()
    start = time.perf_counter()
    with torch.inference_mode():
        cond = Recipe().encode({"qwen25_7b": encoder}, "a red fox reading a newspaper in a cafe", None, EncodeRequest())
    torch.cuda.synchronize()
    rows.append({"row": "Qwen2.5-VL 7B fp8: encode a prompt", "seconds": time.perf_counter() - start,
                 "weights_GiB": weights, "peak_GiB": _peak()})
    encoder.to("cpu")
    del encoder
    _reset()
    with torch.device("cuda"):
        model = _random(QwenImageTransformer2DModel(num_layers=60, attention_head_dim=128, num_attention_heads=24,
                                                    joint_attention_dim=3584), dtype)
    quantize_linears(model, torch.float8_e4m3fn)
    from inkgraph.nodes.diffusion.families.qwen_image import ComfyRope

    model.pos_embed = ComfyRope((16, 56, 56))
    torch.cuda.synchronize()
    weights = torch.cuda.memory_allocated() / GiB
    adapter = QwenImageAdapter(QwenImage.latent)
    latent = torch.randn(1, 16, 1, size // 8, size // 8, device="cuda", dtype=dtype)
    ctx = SimpleNamespace(device=torch.device("cuda"), dtype=dtype, latent_shape=tuple(latent.shape))
    _reset()
    with torch.inference_mode():
        conds = adapter.encode(model, cond[0][0], cond[0][1], ctx)
        adapter.apply(model, latent, torch.tensor([1.0], device="cuda"), conds)  # warm-up
        torch.cuda.synchronize()
        start = time.perf_counter()
        for step in range(steps):
            adapter.apply(model, latent, torch.tensor([1.0 - step / steps], device="cuda"), conds)
        torch.cuda.synchronize()
    rows.append({"row": f"Qwen-Image 20B fp8: s/step at {size}²", "seconds": (time.perf_counter() - start) / steps,
                 "weights_GiB": weights, "peak_GiB": _peak()})
    del model
    _reset()
    return rows
