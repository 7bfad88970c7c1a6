"""fp8 weight storage: linear layers kept in float8 (e4m3fn, e5m2) and computed in the compute dtype.

What ComfyUI users do to fit Flux or SD3.5 in VRAM. Checked three ways: a tiny UNet quantized by
``quantize_linears`` against the same UNet in full precision (the error fp8's mantissa costs) and against
the same fp8 weights on the CPU (the error the device adds); a Flux-sized linear layer (3072 → 12288)
for the error and the time the per-call cast costs; and, when the loader node exists, UNETLoader's
``weight_dtype`` through the engine.
"""

from __future__ import annotations

import copy
import os
import shutil

import torch

from .. import fixtures as fx
from ..context import SectionContext
from ..plan import FP8_TOLERANCES, tolerance


def run(ctx: SectionContext) -> None:
    from inkgraph.nodes.diffusion.weights import WEIGHT_DTYPES, FP8Linear, quantize_linears

    compute = "fp16" if ctx.cuda else "fp32"
    dtype = fx.dtype_of(compute)
    from tests.fixtures.tiny_sd import build

    unet = build("sd1", seed=4)["unet"].eval().requires_grad_(False)
    generator = torch.Generator().manual_seed(12)
    x = torch.randn(2, 4, 16, 16, generator=generator)
    t = torch.tensor([500.0, 500.0])
    context = torch.randn(2, 77, 32, generator=generator)

    def forward(model: torch.nn.Module, device: str, as_dtype: torch.dtype) -> torch.Tensor:
        with torch.inference_mode():
            out: torch.Tensor = model(x.to(device, as_dtype), t.to(device),
                                      encoder_hidden_states=context.to(device, as_dtype), return_dict=False)[0]
        return out.float().cpu()

    full = forward(copy.deepcopy(unet).to(ctx.device, dtype), ctx.device, dtype)
    for name, fp8 in ((n, d) for n, d in WEIGHT_DTYPES.items() if d is not None and n != "fp8_e4m3fn_fast"):
        quantized = copy.deepcopy(unet)
        count = quantize_linears(quantized, fp8)
        stored = [m for m in quantized.modules() if isinstance(m, FP8Linear)]
        ctx.check(f"{name}: linear layers stored in fp8", count > 0 and all(m.weight.dtype == fp8 for m in stored),
                  count)
        on_cpu = forward(copy.deepcopy(quantized).float(), "cpu", torch.float32) if ctx.cuda else None
        for module in quantized.modules():  # the compute dtype for everything but the fp8 weights
            for key, param in list(module.named_parameters(recurse=False)):
                if param.dtype != fp8:
                    setattr(module, key, torch.nn.Parameter(param.to(dtype), requires_grad=False))
        got = forward(quantized.to(ctx.device), ctx.device, dtype)
        ctx.compare(f"{name} on {ctx.device} ({compute}) vs full-precision weights", got, full, FP8_TOLERANCES[name])
        if on_cpu is not None:
            ctx.compare(f"{name}: same fp8 weights, {ctx.device} {compute} vs CPU fp32", got, on_cpu,
                        tolerance(compute))
    _large_linear(ctx, fp8_dtype=WEIGHT_DTYPES["fp8_e4m3fn"])
    _unet_loader(ctx)


def _large_linear(ctx: SectionContext, fp8_dtype: torch.dtype | None) -> None:
    """A Flux MLP-sized layer: error against fp32, and the time the fp8 cast costs per call."""
    from inkgraph.nodes.diffusion.weights import store_fp8

    assert fp8_dtype is not None
    width, hidden, tokens = (3072, 12288, 4096) if ctx.cuda else (256, 1024, 64)
    compute = torch.bfloat16 if ctx.cuda else torch.float32
    generator = torch.Generator().manual_seed(13)
    layer = torch.nn.Linear(width, hidden)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(hidden, width, generator=generator) * width**-0.5)
    x = torch.randn(1, tokens, width, generator=generator)
    with torch.inference_mode():  # fp32 on the device (a 300 GFLOP product is slow on a CPU; TF32 is off)
        expected = copy.deepcopy(layer).to(ctx.device)(x.to(ctx.device)).cpu()
    plain = copy.deepcopy(layer).to(ctx.device, compute)
    quantized = copy.deepcopy(layer)
    store_fp8(quantized, fp8_dtype)
    quantized.bias = torch.nn.Parameter(quantized.bias.to(compute), requires_grad=False)
    quantized = quantized.to(ctx.device)
    with torch.inference_mode():
        got = quantized(x.to(ctx.device, compute))
    ctx.compare(f"Linear {width}→{hidden} e4m3fn storage ({str(compute)[6:]}) vs fp32", got, expected,
                FP8_TOLERANCES["fp8_e4m3fn"])
    weight_bytes = quantized.weight.numel() * quantized.weight.element_size()
    ctx.metric("fp8 linear weight bytes vs bf16", round(weight_bytes / (plain.weight.numel() * 2), 3), "×")
    if ctx.cuda:
        ctx.metric("Linear 3072→12288 ×4096 tokens, bf16 weights", round(_ms(plain, x, compute), 3), "ms")
        ctx.metric("the same with e4m3fn storage (cast per call)", round(_ms(quantized, x, compute), 3), "ms")


def _ms(layer: torch.nn.Module, x: torch.Tensor, dtype: torch.dtype, repeats: int = 20) -> float:
    inputs = x.to("cuda", dtype)
    with torch.inference_mode():
        layer(inputs)
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(repeats):
            layer(inputs)
        end.record()
        end.synchronize()
    return float(start.elapsed_time(end)) / repeats


def _unet_loader(ctx: SectionContext) -> None:
    """UNETLoader with weight_dtype fp8_e4m3fn through the engine, when the loader node exists."""
    registry = fx.registry()
    if "UNETLoader" not in registry:
        ctx.note("UNETLoader is not in this build: fp8 storage checked through quantize_linears/FP8Linear only")
        return
    ckpt = fx.tiny_checkpoint(ctx, "sd1")
    models = fx.base_dir(ctx) / "models"
    target = models / "diffusion_models" / ckpt
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        try:
            os.link(models / "checkpoints" / ckpt, target)
        except OSError:
            shutil.copyfile(models / "checkpoints" / ckpt, target)
    prompts = {}
    for weight_dtype in ("default", "fp8_e4m3fn"):
        prompts[weight_dtype] = fx.with_node(fx.txt2img(ckpt, 64, 3), "30", "UNETLoader",
                                             {"unet_name": ckpt, "weight_dtype": weight_dtype}, feeds=("3", "model"))
    runtime = fx.engine(ctx, ctx.device, "fp16" if ctx.cuda else "fp32")
    base = fx.run_with_predictions(runtime, prompts["default"])
    stored = fx.run_with_predictions(runtime, prompts["fp8_e4m3fn"])
    ctx.compare("UNETLoader weight_dtype fp8_e4m3fn vs default: predictions", stored["predictions"],
                base["predictions"], FP8_TOLERANCES["fp8_e4m3fn"])
    runtime.models.unload_all()
