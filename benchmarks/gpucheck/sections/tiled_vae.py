"""VAEDecodeTiled: the tiles agree with the whole decode away from their seams, the device agrees with the
CPU, and on CUDA the tiles save memory — a full-size SDXL VAE at 1024² (2048² in full mode), whole and in
512-pixel tiles, with the peak VRAM of each.
"""

from __future__ import annotations

import torch

from .. import fixtures as fx
from ..context import SectionContext
from ..plan import tolerance

SEAM_LIMIT = 0.05  # mean |difference| in 0..1 pixels between tiled and whole decodes (the blend near seams)


def run(ctx: SectionContext) -> None:
    ckpt = fx.tiny_checkpoint(ctx, "sd1")
    # 384 px: 48×48 latent cells; the tiny VAE doubles, so 64-pixel tiles (the node's least) are 32 cells: 2×2
    steps = 2 if ctx.cuda else 1
    tiled_prompt = fx.txt2img(ckpt, 384, steps, decode="tiled", tile=64)
    whole_prompt = fx.txt2img(ckpt, 384, steps, decode="whole")
    dtype = "fp16" if ctx.cuda else "fp32"
    device = fx.engine(ctx, ctx.device, dtype)
    tiled, whole = fx.run(device, tiled_prompt), fx.run(device, whole_prompt)
    ctx.check("tiled vs whole decode on the device", float((tiled["image"] - whole["image"]).abs().mean()) < SEAM_LIMIT,
              float((tiled["image"] - whole["image"]).abs().mean()), f"mean |difference| < {SEAM_LIMIT}")
    expected = fx.run(fx.reference(ctx), tiled_prompt)
    ctx.compare(f"tiled decode, {ctx.device} {dtype} vs CPU fp32", tiled["image"], expected["image"],
                tolerance(dtype))
    device.models.unload_all()
    if ctx.cuda:
        _vram(ctx)


def _vram(ctx: SectionContext) -> None:
    from diffusers import AutoencoderKL

    from inkgraph.nodes.diffusion.checkpoint import shipped_configs
    from inkgraph.nodes.diffusion.vae_ops import decode, decode_tiled

    torch.manual_seed(3)
    with torch.device(ctx.device):
        vae = AutoencoderKL.from_config(shipped_configs("sdxl_base")["vae"]).to(torch.bfloat16).eval()
    side = 128 if ctx.quick else 256
    latent = torch.randn(1, 4, side, side, generator=torch.Generator().manual_seed(23))
    peaks = {}
    outputs = {}
    for name in ("whole", "tiled"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        with torch.inference_mode():
            outputs[name] = decode(vae, latent) if name == "whole" else decode_tiled(vae, latent, 64, 8)
        torch.cuda.synchronize()
        peaks[name] = (torch.cuda.max_memory_allocated() - before) / 2**30
        ctx.metric(f"SDXL VAE decode {side * 8}² {name}: peak VRAM above the weights", round(peaks[name], 2), "GiB")
    ctx.check(f"tiles (512 px) need less VRAM than the whole {side * 8}² decode", peaks["tiled"] < peaks["whole"],
              f"{peaks['tiled']:.2f} vs {peaks['whole']:.2f} GiB")
    difference = float((outputs["tiled"] - outputs["whole"]).abs().mean())
    ctx.check(f"full-size tiled vs whole {side * 8}²", difference < SEAM_LIMIT, difference,
              f"mean |difference| < {SEAM_LIMIT}")
