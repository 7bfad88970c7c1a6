"""Speed of one model through Inkgraph and through a plain diffusers pipeline on the same weights and card.

Inkgraph runs the ordinary txt2img graph from a single file in the original layout (CheckpointLoaderSimple
reads it as a download); diffusers runs StableDiffusionPipeline / StableDiffusionXLPipeline built from the
very modules that were written to that file (already on the device: its load time is not comparable and is
not reported). Both use Euler, the same step count, CFG 7 and fp16, and synchronise the device at every
step, so a step's time is the device's. Figures: load time, first-step latency (cold and warm), it/s
(between the first and last step), the whole workflow's time, peak VRAM, and the ratios.

On the CPU (``--device cpu``) the tiny models stand in for the full-size ones: the figures only show that
the code ran.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from . import fixtures as fx
from .context import SectionContext


def run_model(ctx: SectionContext, name: str) -> None:
    kind, _, size = fx.FULL_SIZE[name]
    steps, runs = (10, 2) if ctx.quick else (20, 3)
    if ctx.cuda:
        models = fx.fullsize_models(name, ctx.device, torch.float16)
        ckpt = fx.fullsize_checkpoint(ctx, name, models)
        dtype, label = "fp16", f"{name} {size}²"
    else:
        from tests.fixtures.tiny_sd import build

        ckpt = fx.tiny_checkpoint(ctx, kind)
        models, size, dtype = build(kind, seed=1), 64, "fp32"
        label = f"tiny {kind} {size}² on the CPU (not a performance figure)"
        steps = 3
    ours = _inkgraph(ctx, ckpt, size, steps, runs, dtype, label)
    theirs = _diffusers(ctx, kind, models, size, steps, runs, label)
    del models
    fx.release()
    if ours and theirs:
        ctx.metric(f"ratio it/s Inkgraph / diffusers, {label}", round(ours["it_s"] / theirs["it_s"], 3), "×",
                   "above 1: Inkgraph is faster")
        ctx.metric(f"ratio workflow time Inkgraph / diffusers, {label}", round(ours["wall_s"] / theirs["wall_s"], 3),
                   "×", "below 1: Inkgraph is faster")


def _inkgraph(ctx: SectionContext, ckpt: str, size: int, steps: int, runs: int, dtype: str, label: str
              ) -> dict[str, float]:
    runtime = fx.engine(ctx, ctx.device, dtype)
    rows = [fx.timed_run(runtime, fx.txt2img(ckpt, size, steps, seed=seed, capture=False), ctx.cuda)
            for seed in range(runs)]
    cold, warm = rows[0], max(rows[1:] or rows, key=lambda row: row["it_s"])
    ctx.metric(f"Inkgraph {label}: load (first run)", round(cold["load_s"], 2), "s", "from the page cache")
    ctx.metric(f"Inkgraph {label}: first step, cold", round(cold["first_step_s"], 3), "s",
               "KSampler start to step 1: the UNet moved in, its first forward")
    ctx.metric(f"Inkgraph {label}: first step, warm", round(warm["first_step_s"], 3), "s")
    ctx.metric(f"Inkgraph {label}: sampling", round(warm["it_s"], 2), "it/s", f"{steps} steps, euler, cfg 7, {dtype}")
    ctx.metric(f"Inkgraph {label}: workflow", round(warm["wall_s"], 2), "s",
               f"text encode + sampling + VAE decode {warm['decode_s']:.2f} s")
    if ctx.cuda:
        ctx.metric(f"Inkgraph {label}: peak VRAM", round(warm["peak_vram_gib"], 2), "GiB")
    ctx.check(f"Inkgraph {label}: every step reported", math.isfinite(warm["it_s"]), warm["it_s"])
    runtime.models.unload_all()
    fx.release()
    return warm


def pipeline(kind: str, models: dict[str, Any]) -> Any:
    """A plain diffusers pipeline from in-memory modules: the shipped tokenizer, Euler from the shipped
    scheduler config, no safety checker; nothing fetched."""
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline, StableDiffusionXLPipeline
    from transformers import CLIPTokenizer

    from inkgraph.nodes.diffusion.encoders.clip import TOKENIZER_DIR

    tokenizer = CLIPTokenizer.from_pretrained(str(TOKENIZER_DIR), local_files_only=True)
    scheduler_config = models.get("configs", {}).get("scheduler") or {
        "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "prediction_type": "epsilon"}
    scheduler = EulerDiscreteScheduler.from_config(scheduler_config)
    if kind == "sdxl":
        built: Any = StableDiffusionXLPipeline(
            vae=models["vae"], text_encoder=models["text_encoder"], text_encoder_2=models["text_encoder_2"],
            tokenizer=tokenizer, tokenizer_2=tokenizer, unet=models["unet"], scheduler=scheduler)
    else:
        built = StableDiffusionPipeline(vae=models["vae"], text_encoder=models["text_encoder"], tokenizer=tokenizer,
                                        unet=models["unet"], scheduler=scheduler, safety_checker=None,
                                        feature_extractor=None, requires_safety_checker=False)
    built.set_progress_bar_config(disable=True)
    return built


class StepClock:
    """diffusers' step callback: the time each step ended (the device synchronised first)."""

    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda
        self.stamps: list[float] = []

    def __call__(self, pipe: Any, step: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        if self.cuda:
            torch.cuda.synchronize()
        self.stamps.append(time.perf_counter())
        return tensors


def _diffusers(ctx: SectionContext, kind: str, models: dict[str, Any], size: int, steps: int, runs: int,
               label: str) -> dict[str, float]:
    pipe = pipeline(kind, models).to(ctx.device)
    pixels = size // 8 * pipe.vae_scale_factor  # the same latent size as EmptyLatentImage's (the tiny VAE scales by 2)
    rows = []
    for seed in range(runs):
        clock = StepClock(ctx.cuda)
        stamps = clock.stamps
        if ctx.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        with torch.inference_mode():
            pipe(prompt=fx.PROMPT, negative_prompt=fx.NEGATIVE, num_inference_steps=steps, guidance_scale=7.0,
                 height=pixels, width=pixels, generator=torch.Generator("cpu").manual_seed(seed), output_type="pt",
                 callback_on_step_end=clock)
        if ctx.cuda:
            torch.cuda.synchronize()
        wall = time.perf_counter() - started
        rows.append({"wall_s": wall, "it_s": (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1
                     else float("nan"), "first_step_s": stamps[0] - started if stamps else float("nan"),
                     "peak_vram_gib": torch.cuda.max_memory_allocated() / 2**30 if ctx.cuda else float("nan")})
    warm = max(rows[1:] or rows, key=lambda row: row["it_s"])
    ctx.metric(f"diffusers {label}: sampling", round(warm["it_s"], 2), "it/s")
    ctx.metric(f"diffusers {label}: workflow", round(warm["wall_s"], 2), "s", "prompt encode + sampling + decode")
    ctx.metric(f"diffusers {label}: first step (after its prompt encode)", round(warm["first_step_s"], 3), "s")
    if ctx.cuda:
        ctx.metric(f"diffusers {label}: peak VRAM", round(warm["peak_vram_gib"], 2), "GiB",
                   "SDXL's pipeline decodes in fp32 (force_upcast)" if kind == "sdxl" else "")
    del pipe
    fx.release()
    return warm
