"""Running a sampler: the one code path of KSampler, KSamplerAdvanced, SamplerCustom and SamplerCustomAdvanced.

As ComfyUI's guider.sample: the latent moves into the model's space (an all-zero latent is left as is),
noise is scaled to the first σ, the sampler walks the sigmas with the guider's denoiser, and the result is
scaled back; every step reports progress (and a preview) through the node context. KSampler itself is a
CFGGuider + the named sampler + the named schedule.

Noise is drawn on the CPU from the seed, so a seed gives the same image on any device.

A run goes through the MODEL's OUTER_SAMPLE wrappers (ComfyUI's ``guider.sample`` wrappers): each is called
as ``wrapper(executor, noise, latent_image, sampler, sigmas, denoise_mask, callback, disable_pbar, seed)``
with ``executor.class_obj`` the :class:`SamplingRun` (its ``model_options`` is the run's own dict, which a
wrapper may change before calling ``executor``: EasyCache puts its per-run state there).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from inkgraph.engine import Context

from .control.run import placed
from .families.base import LatentFormat
from .guidance import CFGGuider, Guider, Inpaint, denoiser_for
from .model_api import adapter_of, latent_format_of, model_sampling_of, preview_kind
from .patches.options import WrappersMP, model_options_of, run_wrapped
from .previews import previewer
from .samplers import Sampler, sampler_object
from .schedules import cut_steps, sampling_sigmas

StepHook = Callable[[int, torch.Tensor, torch.Tensor, int], None]  # ComfyUI's (step, x0, x, total_steps)


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


class SeededNoise:
    """RandomNoise's NOISE: ComfyUI's noise for a seed (``seed`` also seeds the samplers' own noise)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def generate_noise(self, input_latent: dict[str, Any]) -> torch.Tensor:
        return prepare_noise(input_latent["samples"], self.seed, input_latent.get("batch_index"))

    def cache_nbytes(self) -> int:
        return 64


class EmptyNoise:
    """DisableNoise's NOISE: zeros (the samplers' own noise then uses seed 0, as in ComfyUI)."""

    seed = 0

    def generate_noise(self, input_latent: dict[str, Any]) -> torch.Tensor:
        samples = input_latent["samples"]
        return torch.zeros(samples.shape, dtype=samples.dtype, layout=samples.layout, device="cpu")

    def cache_nbytes(self) -> int:
        return 64


def fix_empty_latent_channels(model: Any, latent: dict[str, Any]) -> dict[str, Any]:
    """An all-zero latent shaped for another model becomes zeros shaped for this one, as ComfyUI does before
    sampling: the model's channel count (EmptyLatentImage's 4 channels for a 16-channel Flux or SD3,
    EmptyHunyuanLatentVideo's 16 for Wan 2.2's 48), its spatial downscale when the latent says it was made
    for another (``downscale_ratio_spacial``), and a frame axis for a video model given an image latent."""
    samples = latent["samples"]
    latent_format = getattr(getattr(model, "family", None), "latent_format", None)
    if not isinstance(latent_format, LatentFormat):  # a model that does not say: leave the latent as it is
        return latent
    if samples.ndim not in (4, 5):
        return latent
    shape = list(samples.shape)
    empty = torch.count_nonzero(samples) == 0
    if empty and shape[1] != latent_format.channels:
        shape[1] = latent_format.channels
    ratio = latent.get("downscale_ratio_spacial")
    if empty and isinstance(ratio, int | float) and ratio != latent_format.downscale:
        factor = ratio / latent_format.downscale
        shape[-2], shape[-1] = round(shape[-2] * factor), round(shape[-1] * factor)
    if latent_format.dims == 3 and len(shape) == 4:
        shape.insert(2, 1)
    if shape == list(samples.shape):
        return latent
    out = dict(latent)
    out["samples"] = (torch.zeros(shape, dtype=samples.dtype) if empty
                      else samples.reshape(shape))  # only the frame axis was added to a non-empty latent
    return out


def add_noise(model: Any, noise: Any, sigmas: torch.Tensor, latent: dict[str, Any]) -> dict[str, Any]:
    """AddNoise: the latent noised to the schedule's span |σ_first − σ_last|, in the model's space."""
    if len(sigmas) == 0:
        return latent
    latent_format = latent_format_of(model)
    latent_image = latent["samples"]
    noisy = noise.generate_noise(latent)
    scale = torch.abs(sigmas[0] - sigmas[-1]) if len(sigmas) > 1 else sigmas[0]
    if torch.count_nonzero(latent_image) > 0:
        latent_image = latent_format.process_in(latent_image)
    noisy = latent_format.process_out(model_sampling_of(model).noise_scaling(scale, noisy, latent_image))
    out = dict(latent)
    out["samples"] = torch.nan_to_num(noisy, nan=0.0, posinf=0.0, neginf=0.0)
    return out


def _mask_for(noise_mask: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """A LATENT's noise mask resized to the latent (ComfyUI's reshape_mask): bilinear for images, trilinear
    over frames, height and width for video latents; repeated over channels and batch."""
    if len(shape) == 5:
        mask = noise_mask.float()
        if mask.ndim < 5:
            mask = mask.reshape((1, 1, -1, mask.shape[-2], mask.shape[-1]))
        mask = F.interpolate(mask, size=tuple(shape[2:]), mode="trilinear")
        mask = mask.expand(-1, shape[1], -1, -1, -1) if mask.shape[1] == 1 else mask[:, : shape[1]]
        if mask.shape[0] < shape[0]:
            mask = mask.repeat(math.ceil(shape[0] / mask.shape[0]), 1, 1, 1, 1)
        return mask[: shape[0]]
    mask = noise_mask.reshape((-1, 1, noise_mask.shape[-2], noise_mask.shape[-1])).float()
    mask = F.interpolate(mask, size=(shape[2], shape[3]), mode="bilinear").expand(-1, shape[1], -1, -1)
    if mask.shape[0] < shape[0]:
        mask = mask.repeat(math.ceil(shape[0] / mask.shape[0]), 1, 1, 1)
    return mask[: shape[0]]


@dataclass
class SamplingRun:
    """One sampling run, as OUTER_SAMPLE wrappers see it (ComfyUI gives them its guider)."""

    guider: Guider
    model_options: dict[str, Any]  # the run's ComfyUI model_options (a fresh copy of the MODEL's)
    model_sampling: Any

    @property
    def model_patcher(self) -> Any:
        return self.guider.model


def run_sampler(ctx: Context, guider: Guider, sampler: Sampler, sigmas: torch.Tensor, noise: torch.Tensor,
                latent: dict[str, Any], seed: int, callback: StepHook | None = None,
                report: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sample ``latent`` and return (output, denoised_output) LATENTs; the second is the last step's
    estimate of the clean latent (the output itself when no step ran).

    ``callback(step, denoised, x, total_steps)`` is ComfyUI's sampling callback (a node pack's, through the
    ``comfy.sample`` facade), called after each step with the model-space tensors; ``report`` False leaves the
    progress to it (``latent_preview.prepare_callback`` reports progress and previews itself)."""
    if len(sigmas) == 0:
        return dict(latent), dict(latent)
    model = guider.model
    model_sampling = model_sampling_of(model)
    latent_format = latent_format_of(model)
    latent_image = latent["samples"].float()
    if torch.count_nonzero(latent_image) > 0:  # ComfyUI leaves an empty latent unshifted
        latent_image = latent_format.process_in(latent_image)
    sigma_max = float(model_sampling.sigma_max)
    max_denoise = math.isclose(sigma_max, float(sigmas[0]), rel_tol=1e-5) or float(sigmas[0]) > sigma_max
    preview = previewer(ctx, preview_kind(model), str(ctx.extra_data.get("preview_method", "none")), latent_format)
    total = len(sigmas) - 1
    last: dict[str, torch.Tensor] = {}
    run = SamplingRun(guider, model_options_of(model).as_dict(), model_sampling)

    def step(i: int, x_now: torch.Tensor, denoised: torch.Tensor) -> None:
        last["x0"] = denoised
        if callback is not None:
            callback(i, denoised, x_now, total)
        if report:
            ctx.progress(min(i + 1, total), total, preview=preview(denoised) if preview is not None else None)
        else:
            ctx.check_interrupted()

    def sample_run(noise: torch.Tensor, latent_image: torch.Tensor, sampler: Sampler, sigmas: torch.Tensor,
                   denoise_mask: torch.Tensor | None, callback: Any, disable_pbar: bool, seed: int) -> torch.Tensor:
        with _use(model, latent_image.shape) as module, placed(guider.conds.values()) as controls:
            device = next(module.parameters()).device
            # ComfyUI's samplers give every hook and network call the run's schedule (packs read it)
            run.model_options.setdefault("transformer_options", {})["sample_sigmas"] = sigmas.to(device)
            inpaint = None
            if denoise_mask is not None:
                # ddim differs from euler only here: its inpainting noise is a fresh draw from seed + 1
                kept_noise = (torch.randn(noise.shape, generator=torch.Generator().manual_seed(seed + 1))
                              if sampler.inpaint_random else noise)
                inpaint = Inpaint(_mask_for(denoise_mask, latent_image.shape).to(device),
                                  latent_image.to(device), kept_noise.to(device),
                                  bool(getattr(adapter_of(model), "inpaint_clean", False)))
            denoiser = denoiser_for(module, model_sampling, guider, tuple(latent_image.shape), adapter_of(model),
                                    inpaint, latent_image, seed, run.model_options, controls)
            x = model_sampling.noise_scaling(sigmas[0], noise, latent_image, max_denoise).to(device)
            walk = sigmas.to(device)
            denoiser.sigmas = walk
            try:
                result = sampler(denoiser, x, walk, seed, cb=callback)
            finally:
                denoiser.finish()
            return model_sampling.inverse_noise_scaling(sampler.last_sigma(walk), result)  # type: ignore[no-any-return]

    result = run_wrapped(WrappersMP.OUTER_SAMPLE, run.model_options.get("transformer_options") or {}, sample_run,
                         noise, latent_image, sampler, sigmas, latent.get("noise_mask"), step, False, seed,
                         class_obj=run)
    out = dict(latent)
    out["samples"] = latent_format.process_out(result.float()).cpu()
    if "x0" not in last:
        return out, out
    denoised_out = dict(latent)
    denoised_out["samples"] = latent_format.process_out(last["x0"].float()).cpu()
    return out, denoised_out


def _use(model: Any, shape: torch.Size) -> Any:
    """The MODEL's network on the compute device, with room for the activations its family estimates for a
    latent of ``shape`` (video models: other idle models, such as the text encoders, are offloaded first)."""
    estimate = getattr(adapter_of(model), "activation_bytes", None)
    reserve = int(estimate(tuple(shape))) if callable(estimate) else 0
    if reserve:
        try:
            return model.use(reserve_bytes=reserve)
        except TypeError:  # a MODEL of a node pack whose use() takes no reserve
            pass
    return model.use()


def sample(ctx: Context, model: Any, seed: int, steps: int, cfg: float, sampler_name: str, scheduler: str,
           positive: list[Any], negative: list[Any], latent: dict[str, Any], denoise: float = 1.0,
           disable_noise: bool = False, start_step: int | None = None, last_step: int | None = None,
           force_full_denoise: bool = False) -> dict[str, Any]:
    """KSampler / KSamplerAdvanced: a CFGGuider, the named sampler and the named schedule."""
    sigmas = sampling_sigmas(model_sampling_of(model), scheduler, sampler_name, steps, denoise)
    cut = cut_steps(sigmas, start_step, last_step, force_full_denoise)
    if cut is None or len(cut) == 0:
        return dict(latent)  # nothing left to do: ComfyUI returns the input untouched
    latent = fix_empty_latent_channels(model, latent)
    samples = latent["samples"]
    noise = (torch.zeros(samples.shape, dtype=torch.float32) if disable_noise
             else prepare_noise(samples, seed, latent.get("batch_index")))
    out, _ = run_sampler(ctx, CFGGuider(model, positive, negative, cfg), sampler_object(sampler_name), cut, noise,
                         latent, seed)
    return out
