"""Live previews while sampling: one per step with latent2rgb (latent-sized) and with TAESD (image-sized),
and TAESD's decode on the device against the CPU. The TAESD decoder is random, written in the bare layout
of the taesd_decoder files users put in models/vae_approx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .. import fixtures as fx
from ..context import SectionContext
from ..plan import tolerance


def run(ctx: SectionContext) -> None:
    from diffusers import AutoencoderTiny
    from safetensors.torch import save_file

    from inkgraph.nodes.diffusion.previews import load_taesd

    folder = fx.base_dir(ctx) / "models" / "vae_approx"
    path = folder / "taesd_decoder.safetensors"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(5)
        tiny: Any = AutoencoderTiny()
        decoder = {k.removeprefix("decoder.layers."): v for k, v in tiny.state_dict().items()
                   if k.startswith("decoder.layers.")}
        save_file({f"{int(k.split('.')[0]) + 1}.{k.split('.', 1)[1]}": v.contiguous() for k, v in decoder.items()},
                  str(path))
    ckpt = fx.tiny_checkpoint(ctx, "sd1")
    steps = 3
    for method, size in (("latent2rgb", (8, 8)), ("taesd", (64, 64))):
        runtime = fx.engine(ctx, ctx.device, "fp16" if ctx.cuda else "fp32")
        previews: list[Any] = []
        runtime.bus.subscribe(_collector(previews))
        fx.run(runtime, fx.txt2img(ckpt, 64, steps), extra_data={"preview_method": method})
        ctx.check(f"{method}: one preview per step", len(previews) == steps, len(previews), str(steps))
        got = previews[0].image.size if previews else None
        ctx.check(f"{method}: preview size", got == size, str(got), str(size))
        runtime.models.unload_all()
    taesd = load_taesd(path)
    latent = torch.randn(1, 4, 32, 32, generator=torch.Generator().manual_seed(24))
    with torch.inference_mode():
        expected = taesd.decode(latent).sample
        got = taesd.to(ctx.device).decode(latent.to(ctx.device)).sample.float().cpu()
    ctx.compare(f"TAESD decode on {ctx.device} (fp32) vs CPU", got, expected, tolerance("fp32"))


def _collector(into: list[Any]) -> Callable[[Any, str | None], None]:
    def collect(event: Any, target: str | None) -> None:
        if event.type == "preview_image":
            into.append(event)

    return collect
