"""``comfy.sample`` for ComfyUI packs: noise, and the two sampling entry points, over Inkgraph's sampler.

``sample`` is what ComfyUI's KSampler node runs (``comfy.samplers.KSampler``: the named scheduler and
sampler), ``sample_custom`` what SamplerCustom runs (a SAMPLER and SIGMAS); both go through
``ksampler.run_sampler`` with a CFG guider, so the same inputs give the latent the built-in nodes give. The
results are on the CPU, ComfyUI's intermediate device.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

from ..stubs import comfy_attribute

log = logging.getLogger(__name__)


def prepare_noise(latent_image: torch.Tensor, seed: int, noise_inds: Any = None) -> torch.Tensor:
    """ComfyUI's noise for a seed: one CPU draw, or one per batch index (``noise_inds``)."""
    from inkgraph.nodes.diffusion.ksampler import prepare_noise as native

    inds = None if noise_inds is None else [int(i) for i in noise_inds]
    return native(latent_image, seed, inds).to(latent_image.dtype)  # type: ignore[no-any-return]


def fix_empty_latent_channels(model: Any, latent_image: torch.Tensor) -> torch.Tensor:
    """An all-zero latent with another channel count than the model's becomes zeros with the model's."""
    latent_format = model.get_model_object("latent_format")
    channels = int(latent_format.latent_channels)
    if latent_image.ndim == 4 and latent_image.shape[1] != channels and torch.count_nonzero(latent_image) == 0:
        return torch.zeros((latent_image.shape[0], channels, *latent_image.shape[2:]), dtype=latent_image.dtype,
                           device=latent_image.device)
    return latent_image


def prepare_sampling(model: Any, noise_shape: Any, positive: Any, negative: Any, noise_mask: Any) -> tuple[Any, ...]:
    log.warning("Warning: comfy.sample.prepare_sampling isn't used anymore and can be removed")
    return model, positive, negative, noise_mask, []


def cleanup_additional_models(models: Any) -> None:
    log.warning("Warning: comfy.sample.cleanup_additional_models isn't used anymore and can be removed")


def sample(model: Any, noise: torch.Tensor, steps: int, cfg: float, sampler_name: str, scheduler: str, positive: Any,
           negative: Any, latent_image: torch.Tensor, denoise: float = 1.0, disable_noise: bool = False,
           start_step: int | None = None, last_step: int | None = None, force_full_denoise: bool = False,
           noise_mask: torch.Tensor | None = None, sigmas: torch.Tensor | None = None,
           callback: Callable[..., Any] | None = None, disable_pbar: bool = False, seed: int | None = None
           ) -> torch.Tensor:
    from .samplers import KSampler

    sampler = KSampler(model, steps=steps, device=getattr(model, "load_device", None), sampler=sampler_name,
                       scheduler=scheduler, denoise=denoise, model_options=getattr(model, "model_options", {}))
    samples = sampler.sample(noise, positive, negative, cfg=cfg, latent_image=latent_image, start_step=start_step,
                             last_step=last_step, force_full_denoise=force_full_denoise, denoise_mask=noise_mask,
                             sigmas=sigmas, callback=callback, disable_pbar=disable_pbar, seed=seed)
    return samples.cpu()


def sample_custom(model: Any, noise: torch.Tensor, cfg: float, sampler: Any, sigmas: torch.Tensor, positive: Any,
                  negative: Any, latent_image: torch.Tensor, noise_mask: torch.Tensor | None = None,
                  callback: Callable[..., Any] | None = None, disable_pbar: bool = False, seed: int | None = None
                  ) -> torch.Tensor:
    from .samplers import sample as run

    samples = run(model, noise, positive, negative, cfg, getattr(model, "load_device", None), sampler, sigmas,
                  getattr(model, "model_options", {}), latent_image=latent_image, denoise_mask=noise_mask,
                  callback=callback, disable_pbar=disable_pbar, seed=seed)
    return samples.cpu()


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.sample", name)
