"""What sampling asks of a MODEL handle, in one place, so a new model family plugs in without the
samplers knowing it.

The model layer gives each family (``handle.family``) or handle:

- ``model_sampling``: a model sampling object (``model_sampling.combine(schedule, prediction, ...)``) or a
  function returning one: how the family reads σ. Without it, a family's ``prediction`` ("epsilon" or
  "v_prediction") selects Stable Diffusion's discrete schedule. ModelSampling* nodes set the handle's
  ``sampling_override``, which wins.
- ``adapter``: a ``conds.ModelAdapter`` that turns conditioning entries into the network's inputs and runs
  it; without one, the diffusers UNet adapter (SD1/SD2/SDXL) is used.
- ``latent_format`` (with ``process_in``/``process_out``), or ``latent_scale`` and optionally
  ``latent_shift``: latent = (vae_latent − shift)·scale inside the sampler, as ComfyUI's latent formats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .conds import ModelAdapter
from .model_sampling import ModelSampling, discrete


def model_sampling_of(model: Any) -> ModelSampling:
    """The model sampling a MODEL handle samples with (override, family default, or SD's discrete one)."""
    override = getattr(model, "sampling_override", None)
    if override is not None:
        return override
    family = getattr(model, "family", None)
    for owner in (model, family):
        found = getattr(owner, "model_sampling", None)
        if found is not None:
            return found() if callable(found) else found
    return discrete(getattr(family, "prediction", "epsilon"))


def adapter_of(model: Any) -> ModelAdapter:
    """The family's adapter between conditioning and its network (the UNet adapter by default)."""
    found = getattr(getattr(model, "family", None), "adapter", None)
    if found is not None:
        return found() if isinstance(found, type) else found  # type: ignore[no-any-return]
    from .unet import UNetAdapter

    return UNetAdapter()


@dataclass(frozen=True)
class LatentFormat:
    """How VAE latents map to the space the model samples in (ComfyUI's process_latent_in/out)."""

    scale_factor: float = 1.0
    shift_factor: float = 0.0

    def process_in(self, latent: torch.Tensor) -> torch.Tensor:
        if self.shift_factor:
            return (latent - self.shift_factor) * self.scale_factor
        return latent * self.scale_factor

    def process_out(self, latent: torch.Tensor) -> torch.Tensor:
        if self.shift_factor:
            return latent / self.scale_factor + self.shift_factor
        return latent / self.scale_factor


def latent_format_of(model: Any) -> Any:
    """The family's latent format (anything with process_in/process_out)."""
    family = getattr(model, "family", None)
    found = getattr(family, "latent_format", None)
    if found is not None and hasattr(found, "process_in"):
        return found
    return LatentFormat(float(getattr(family, "latent_scale", 1.0)), float(getattr(family, "latent_shift", 0.0)))


def preview_kind(model: Any) -> str:
    """The family name the preview factors are chosen by."""
    return str(getattr(getattr(model, "family", None), "kind", "sd"))
