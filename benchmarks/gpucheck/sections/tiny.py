"""Tiny SD1 and SDXL models through the real engine in every compute dtype, against the CPU in fp32; and the
device policy the model manager applied (default dtype, the VAE's dtype, channels-last, SDPA attention).

The tiny models (tests/fixtures/tiny_sd.py) keep SD1's and SDXL's block layouts, key layouts and
conditioning (SDXL's pooled output and size ids), so every code path of the full-size models runs, in a
second. Each graph is the ordinary txt2img graph; what the KSampler and VAEDecode produced is compared.
"""

from __future__ import annotations

import torch

from .. import fixtures as fx
from ..context import SectionContext
from ..plan import tolerance

KINDS = ("sd1", "sdxl")


def run(ctx: SectionContext) -> None:
    size, steps = 64, 3
    reference = fx.reference(ctx)
    for kind in KINDS:
        ckpt = fx.tiny_checkpoint(ctx, kind)
        prompt = fx.txt2img(ckpt, size, steps)
        expected = fx.run_with_predictions(reference, prompt)
        for dtype in fx.device_dtypes(ctx):
            runtime = fx.engine(ctx, ctx.device, dtype)
            got = fx.run_with_predictions(runtime, prompt)
            tol = tolerance(dtype)
            ctx.compare(f"{kind} {dtype}: UNet predictions, every step", got["predictions"], expected["predictions"],
                        tol)
            ctx.compare(f"{kind} {dtype}: latent", got["latent"], expected["latent"], tol)
            ctx.compare(f"{kind} {dtype}: image", got["image"], expected["image"], tol)
            runtime.models.unload_all()
        deterministic = fx.engine(ctx, ctx.device, "fp32")
        first, second = (fx.run(deterministic, prompt)["latent"] for _ in range(2))
        ctx.check(f"{kind}: the same seed gives the same latent twice on the device",
                  float((first - second).abs().max()) <= 1e-5, float((first - second).abs().max()),
                  "max |difference| ≤ 1e-5")
        deterministic.models.unload_all()
    _policy(ctx)


def _policy(ctx: SectionContext) -> None:
    """What the manager chose when nothing was asked: the dtype, the VAE's dtype, memory format, attention."""
    runtime = fx.engine(ctx, ctx.device, None)
    fx.run(runtime, fx.txt2img(fx.tiny_checkpoint(ctx, "sdxl"), 64, 2))
    policy = runtime.models.policy
    expected = "fp16" if ctx.cuda and torch.cuda.get_device_capability()[0] >= 7 else "fp32"
    ctx.check("default compute dtype", policy.dtype == expected, policy.dtype, expected)
    vae_dtype = str(next(fx.component(runtime, "vae").parameters()).dtype).removeprefix("torch.")
    if ctx.cuda:
        wanted = "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
        ctx.check("VAE never in fp16 on CUDA (SDXL's VAE overflows)", vae_dtype == wanted, vae_dtype, wanted)
    else:
        ctx.check("VAE dtype on the CPU follows the model dtype", vae_dtype == "float32", vae_dtype, "float32")
    unet = fx.component(runtime, "unet")
    conv = next(m for m in unet.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1))
    channels_last = conv.weight.is_contiguous(memory_format=torch.channels_last)
    ctx.check("UNet in channels-last on CUDA only", channels_last == ctx.cuda, str(channels_last),
              "True on CUDA, False on the CPU")
    device_type = next(unet.parameters()).device.type
    ctx.check("UNet stays on the compute device after sampling (--vram normal)",
              device_type == torch.device(ctx.device).type, device_type)
    processors = sorted({type(p).__name__ for p in unet.attn_processors.values()})
    ctx.check("UNet attention through torch's SDPA", all("2_0" in p or "SDPA" in p for p in processors),
              ", ".join(processors))
    runtime.models.unload_all()
