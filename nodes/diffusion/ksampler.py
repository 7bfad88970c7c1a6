"""KSampler's procedure: noise from the seed, sigmas from the scheduler, the sampler loop, previews.

Noise is drawn on the CPU from the seed (so a seed gives the same image on any device), the latent is
scaled into the model's space, sampled, and scaled back; the result is a LATENT again.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from inkgraph.engine import Context

from .guidance import Denoiser
from .handles import ModelHandle
from .previews import previewer
from .samplers import SAMPLERS
from .schedules import DiscreteSchedule, sampling_sigmas


def prepare_noise(latent: torch.Tensor, seed: int, batch_index: list[int] | None = None) -> torch.Tensor:
    """ComfyUI's noise: one CPU draw from ``seed``; with a batch index, item k gets the index's draw."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    if batch_index is None:
        return torch.randn(latent.size(), dtype=torch.float32, generator=generator)
    unique, inverse = np.unique(batch_index, return_inverse=True)
    kept = []
    for i in range(int(unique[-1]) + 1):
        draw = torch.randn([1, *latent.shape[1:]], dtype=torch.float32, generator=generator)
        if i in unique:
            kept.append(draw)
    return torch.cat([kept[int(j)] for j in inverse], dim=0)


def _mask_for(noise_mask: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    mask = noise_mask.reshape((-1, 1, noise_mask.shape[-2], noise_mask.shape[-1])).float()
    mask = F.interpolate(mask, size=(shape[2], shape[3]), mode="bilinear").expand(-1, shape[1], -1, -1)
    if mask.shape[0] < shape[0]:
        mask = mask.repeat(math.ceil(shape[0] / mask.shape[0]), 1, 1, 1)
    return mask[: shape[0]]


def sample(ctx: Context, model: ModelHandle, seed: int, steps: int, cfg: float, sampler_name: str,
           scheduler: str, positive: list[Any], negative: list[Any], latent: dict[str, Any], denoise: float = 1.0,
           disable_noise: bool = False, start_step: int | None = None, last_step: int | None = None,
           force_full_denoise: bool = False) -> dict[str, Any]:
    latent_image = latent["samples"].float()
    family = model.family
    schedule = DiscreteSchedule(family.prediction)
    sigmas = sampling_sigmas(schedule, scheduler, sampler_name, steps, denoise)
    if last_step is not None and last_step < len(sigmas) - 1:
        sigmas = sigmas[: last_step + 1].clone()
        if force_full_denoise:
            sigmas[-1] = 0
    if start_step is not None:
        if start_step >= len(sigmas) - 1:
            return dict(latent)  # nothing left to do: ComfyUI returns the input untouched
        sigmas = sigmas[start_step:]
    if len(sigmas) == 0:
        return dict(latent)
    noise = torch.zeros_like(latent_image) if disable_noise else prepare_noise(latent_image, seed,
                                                                              latent.get("batch_index"))
    scale = family.latent_scale
    scaled = latent_image * scale
    max_denoise = math.isclose(float(schedule.sigma_max), float(sigmas[0]), rel_tol=1e-5) or \
        float(sigmas[0]) > float(schedule.sigma_max)
    preview = previewer(ctx, family.kind, str(ctx.extra_data.get("preview_method", "none")))
    total = len(sigmas) - 1

    with model.use() as unet:
        device = next(unet.parameters()).device
        mask = inpaint_noise = None
        if "noise_mask" in latent:
            mask = _mask_for(latent["noise_mask"], scaled.shape).to(device)
            # ddim differs from euler only here: its inpainting noise is a fresh draw from seed + 1
            inpaint_noise = (torch.randn(noise.shape, generator=torch.Generator().manual_seed(seed + 1))
                             if sampler_name == "ddim" else noise).to(device)
        x = schedule.noise_scaling(sigmas[0], noise, scaled, max_denoise).to(device)
        height, width = latent_image.shape[-2] * 8, latent_image.shape[-1] * 8
        denoiser = Denoiser(unet, schedule, positive, negative, cfg, family.kind == "sdxl", (height, width),
                            mask, scaled.to(device), inpaint_noise)

        def step(i: int, x_now: torch.Tensor, denoised: torch.Tensor) -> None:
            ctx.progress(i + 1, total, preview=preview(denoised) if preview is not None else None)

        result = SAMPLERS[sampler_name](denoiser, x, sigmas.to(device), seed, cb=step)
    out = dict(latent)
    out["samples"] = (result.float() / scale).cpu()
    return out
