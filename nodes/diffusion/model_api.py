"""What sampling asks of a MODEL handle, in one place, so a new model family plugs in without the
samplers knowing it.

The model layer gives each family (``handle.family``) or handle:

- ``model_sampling``: a model sampling object (``model_sampling.combine(schedule, prediction, ...)``) or a
  function returning one: how the family reads σ. Without it, a family's ``prediction`` ("epsilon" or
  "v_prediction") selects Stable Diffusion's discrete schedule. ModelSampling* nodes set the handle's
  ``sampling_override``, which wins.
- ``adapter``: a ``conds.ModelAdapter`` that turns conditioning entries into the network's inputs and runs
  it; without one, the diffusers UNet adapter (SD1/SD2/SDXL) is used.
- ``latent_format`` (``families.base.LatentFormat``): latent = (vae_latent − shift)·scale inside the
  sampler, as ComfyUI's latent formats.
"""

from __future__ import annotations

from typing import Any

from .conds import ModelAdapter
from .families.base import LatentFormat
from .model_sampling import ModelSampling, discrete


def compute_dtype(module: Any) -> Any:
    """The dtype a network computes in: that of its parameters not stored in fp8 (an fp8 file or an fp8
    weight_dtype keeps linear weights in one byte; they compute in the activations' dtype)."""
    from .state_dict import FP8_DTYPES

    first = None
    for parameter in module.parameters():
        first = first if first is not None else parameter.dtype
        if parameter.is_floating_point() and parameter.dtype not in FP8_DTYPES:
            return parameter.dtype
    return first


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


def latent_format_of(model: Any) -> LatentFormat:
    """The family's latent format (how VAE latents map into the space the model samples in)."""
    family = getattr(model, "family", None)
    found = getattr(family, "latent_format", None)
    if isinstance(found, LatentFormat):
        return found
    return LatentFormat(4, float(getattr(family, "latent_scale", 1.0)), float(getattr(family, "latent_shift", 0.0)))


def preview_kind(model: Any) -> str:
    """The family name the preview factors are chosen by."""
    return str(getattr(getattr(model, "family", None), "kind", "sd"))
