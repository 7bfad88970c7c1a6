"""The VAE's precision policy: never fp16 on CUDA, because SDXL's VAE overflows there (a black image).

First the hazard is made real: a VAE whose decoder activations exceed fp16's range (65504), as the real
SDXL VAE's do, decodes to NaN in fp16 and to finite values close to fp32 in bf16. Then the engine's
choice: asked for fp16, the model manager keeps the VAE in bf16 (fp32 on cards without bf16), and the
overflowing VAE decodes cleanly through the graph. Last, an SDXL-size VAE (full architecture, random
weights; tiny on the CPU) decodes and encodes on the device against the CPU in fp32.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from .. import fixtures as fx
from ..context import SectionContext
from ..plan import tolerance


def run(ctx: SectionContext) -> None:
    from tests.fixtures.tiny_sd import build

    generator = torch.Generator().manual_seed(21)
    vae = build("sdxl", seed=2)["vae"].eval().requires_grad_(False)
    latent = torch.randn(1, 4, 16, 16, generator=generator)
    hot = overflowing(vae, latent)
    results = {name: decode(hot, latent, ctx.device, fx.dtype_of(name)) for name in ("fp32", "fp16", "bf16")}
    ctx.check("a VAE with activations past 65504 decodes to NaN/inf in fp16 (the hazard is real)",
              not bool(torch.isfinite(results["fp16"]).all()), _finite_share(results["fp16"]),
              "share of finite pixels < 1")
    ctx.compare("the same VAE in bf16 vs fp32", results["bf16"], results["fp32"], tolerance("bf16"))
    _engine_policy(ctx, hot)
    _full_size(ctx)


def overflowing(vae: Any, latent: torch.Tensor, peak: float = 1e6) -> Any:
    """A copy of ``vae`` whose decoder input convolution is scaled so its outputs reach ``peak``."""
    hot = copy.deepcopy(vae)
    with torch.no_grad():
        first = hot.decoder.conv_in(hot.post_quant_conv(latent))
        factor = peak / float(first.abs().max())
        hot.decoder.conv_in.weight.mul_(factor)
        hot.decoder.conv_in.bias.mul_(factor)
    return hot


def decode(vae: Any, latent: torch.Tensor, device: str, dtype: torch.dtype) -> torch.Tensor:
    model = copy.deepcopy(vae).to(device, dtype)
    with torch.inference_mode():
        out: torch.Tensor = model.decode(latent.to(device, dtype), return_dict=False)[0]
    return out.float().cpu()


def _finite_share(x: torch.Tensor) -> float:
    return float(torch.isfinite(x).float().mean())


def _engine_policy(ctx: SectionContext, hot: Any) -> None:
    """A tiny SDXL checkpoint whose VAE overflows fp16, run through the graph with fp16 asked for."""
    from safetensors.torch import save_file

    from inkgraph.nodes.diffusion.checkpoint import METADATA_KEY
    from tests.fixtures.tiny_sd import build, ldm_state_dict

    path = fx.base_dir(ctx) / "models" / "checkpoints" / "tiny_sdxl_hot_vae.safetensors"
    if not path.exists():
        import json

        models = build("sdxl", seed=2)
        models["vae"] = hot
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(ldm_state_dict("sdxl", models), str(path),
                  metadata={METADATA_KEY: json.dumps(models["configs"], default=list)})
    runtime = fx.engine(ctx, ctx.device, "fp16")
    got = fx.run(runtime, fx.txt2img(path.name, 64, 2))
    vae_dtype = str(next(fx.component(runtime, "vae").parameters()).dtype).removeprefix("torch.")
    if ctx.cuda:
        wanted = "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
        ctx.check("fp16 asked: the manager keeps the VAE in bf16 (fp32 without bf16)", vae_dtype == wanted,
                  vae_dtype, wanted)
        ctx.check("the overflowing VAE decodes through the graph without NaN", bool(torch.isfinite(got["image"]).all()),
                  _finite_share(got["image"]), "all pixels finite")
    else:
        ctx.note(f"on the CPU the VAE keeps the asked dtype ({vae_dtype}); the fp16 guard is CUDA's")
    runtime.models.unload_all()


def _full_size(ctx: SectionContext) -> None:
    """SDXL's VAE architecture (random weights) on the device against the CPU in fp32."""
    from diffusers import AutoencoderKL

    from inkgraph.nodes.diffusion.checkpoint import shipped_configs
    from tests.fixtures.tiny_sd import build

    if ctx.cuda:
        torch.manual_seed(3)
        vae = AutoencoderKL.from_config(shipped_configs("sdxl_base")["vae"]).eval().requires_grad_(False)
        side = 32 if ctx.quick else 64  # latent cells: 256² or 512² pixels
        label = "SDXL VAE"
    else:
        vae, side, label = build("sdxl", seed=2)["vae"].eval().requires_grad_(False), 16, "tiny SDXL VAE"
    scale = 2 ** (len(vae.config.block_out_channels) - 1)
    generator = torch.Generator().manual_seed(22)
    latent = torch.randn(1, 4, side, side, generator=generator)
    pixels = torch.rand(1, 3, side * scale, side * scale, generator=generator) * 2 - 1
    expected = decode(vae, latent, "cpu", torch.float32)
    with torch.inference_mode():
        encoded = vae.encode(pixels).latent_dist.mode()
    for name in ("fp32", "bf16"):
        if name == "bf16" and ctx.cuda and not torch.cuda.is_bf16_supported():
            continue
        dtype = fx.dtype_of(name)
        got = decode(vae, latent, ctx.device, dtype)
        tol = tolerance(name, full_size=True)
        ctx.compare(f"{label} decode {side * scale}² {name} vs CPU fp32", got, expected, tol)
        model = copy.deepcopy(vae).to(ctx.device, dtype)
        with torch.inference_mode():
            mode = model.encode(pixels.to(ctx.device, dtype)).latent_dist.mode().float().cpu()
        ctx.compare(f"{label} encode {side * scale}² {name} vs CPU fp32", mode, encoded, tol)
        del model
