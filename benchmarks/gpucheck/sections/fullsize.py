"""Full-size SD1.5 and SDXL (the real architectures, random weights, written as original-layout single
files) through the engine on the device, against the same graph on the CPU in fp32.

The UNet's predictions at every step, the final latent and the decoded image are compared at the
full-size tolerances (twice the tiny models'). Images are 256² in ``--quick`` (the CPU's reference must fit
the section's budget) and 512² otherwise, 2 Euler steps; the full mode also checks fp32 and bf16. The CPU
reference uses every core while this section runs.
"""

from __future__ import annotations

import os

import torch

from .. import fixtures as fx
from ..context import SectionContext
from ..plan import tolerance


def run(ctx: SectionContext) -> None:
    size = 256 if ctx.quick else 512
    dtypes = ["fp16"] if ctx.quick else fx.device_dtypes(ctx)
    names = ("sd15", "sdxl") if ctx.cuda else ("sd15",)
    if not ctx.cuda:
        size, dtypes = 64, ["fp32"]
        ctx.note("on the CPU only SD1.5 at 64², against itself: this shows the code path runs")
    threads = torch.get_num_threads()
    if ctx.cuda:
        torch.set_num_threads(os.cpu_count() or threads)
    try:
        for name in names:
            ckpt = fx.fullsize_checkpoint(ctx, name)
            prompt = fx.txt2img(ckpt, size, 2)
            reference = fx.reference(ctx)
            expected = fx.run_with_predictions(reference, prompt)
            reference.models.unload_all()
            del reference
            fx.release()
            for dtype in dtypes:
                runtime = fx.engine(ctx, ctx.device, dtype)
                got = fx.run_with_predictions(runtime, prompt)
                tol = tolerance(dtype, full_size=True)
                label = f"{name} {size}² {dtype}"
                ctx.compare(f"{label}: UNet predictions, every step", got["predictions"], expected["predictions"],
                            tol)
                ctx.compare(f"{label}: latent", got["latent"], expected["latent"], tol)
                ctx.compare(f"{label}: image", got["image"], expected["image"], tol)
                runtime.models.unload_all()
                fx.release()
    finally:
        torch.set_num_threads(threads)
