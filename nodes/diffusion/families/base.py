"""What a model family declares: how to recognise its files, its architecture read from the tensors, the
class that implements it, its latent format, how it predicts, and the text encoders it takes.

One module per family implements :class:`DiffusionFamily`; the registry (``families/__init__.py``) asks
each in turn. Loaders, samplers and the compatibility layer ask the family; nothing else switches on
family names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch

from ..state_dict import TensorIndex

Prediction = Literal["eps", "v", "flow", "edm", "v_edm"]


@dataclass(frozen=True)
class LatentFormat:
    """How pixels map to the model's latents: channels, the VAE's scale and shift, and the previews'
    linear latent → RGB approximation (ComfyUI's ``latent_rgb_factors``), when known."""

    channels: int
    scale_factor: float
    shift_factor: float = 0.0
    downscale: int = 8  # pixels per latent cell
    rgb_factors: tuple[tuple[float, float, float], ...] | None = None  # one RGB row per latent channel
    rgb_bias: tuple[float, float, float] | None = None

    def process_in(self, latent: torch.Tensor) -> torch.Tensor:
        """VAE latents → the model's space."""
        return (latent - self.shift_factor) * self.scale_factor

    def process_out(self, latent: torch.Tensor) -> torch.Tensor:
        """The model's space → VAE latents."""
        return latent / self.scale_factor + self.shift_factor


@dataclass(frozen=True)
class SamplingDefaults:
    """How the family's models are trained to be sampled (ComfyUI's model_sampling for the family).

    ``prediction``: eps (noise), v, flow (rectified flow / velocity) or edm. Discrete schedules use
    ``linear_start``/``linear_end`` (scaled-linear betas over 1000 steps); flow schedules use ``shift``
    (and Flux-style resolution-dependent shift when ``base_shift``/``max_shift`` are set) and the timestep
    ``multiplier`` the model expects.
    """

    prediction: Prediction
    linear_start: float = 0.00085
    linear_end: float = 0.012
    shift: float = 1.0
    multiplier: float = 1000.0
    base_shift: float | None = None
    max_shift: float | None = None


@dataclass
class Detected:
    """A family's reading of one file: its config (architecture from the tensors) and where its keys are."""

    family: DiffusionFamily
    config: dict[str, Any]
    prefix: str  # what precedes the diffusion model's keys in the file ("" or "model.diffusion_model." …)
    variant: str = ""  # e.g. "dev", "schnell", "inpaint", "v" — for messages and defaults
    source: str = ""  # the file's name, for messages
    extra: dict[str, Any] = field(default_factory=dict)


class DiffusionFamily(ABC):
    """One family of diffusion models (SD1, SDXL, Flux, SD3 …)."""

    name: ClassVar[str]
    latent: ClassVar[LatentFormat]
    # the text encoders the family takes, in ComfyUI's order: "clip_l", "clip_g", "t5xxl", "qwen3_4b" …
    text_encoders: ClassVar[tuple[str, ...]]
    # the VAE family its latents belong to ("sd" for SD1/2/XL's 4-channel VAE, "flux" for the 16-channel one)
    vae: ClassVar[str]

    @abstractmethod
    def detect(self, index: TensorIndex) -> Detected | None:
        """This family's reading of the file, or None when its keys are not there."""

    @abstractmethod
    def build(self, tensors: dict[str, torch.Tensor], detected: Detected, dtype: torch.dtype) -> torch.nn.Module:
        """The model with its weights, from the file's tensors (prefix already removed)."""

    @abstractmethod
    def sampling(self, detected: Detected) -> SamplingDefaults:
        """How this model is sampled by default (the ModelSampling* nodes override it)."""

    @abstractmethod
    def apply(self, model: torch.nn.Module, x: torch.Tensor, timestep: torch.Tensor, context: torch.Tensor,
              extras: dict[str, Any]) -> torch.Tensor:
        """One model call: ``x`` is the model's input in its own space [B, C, H, W], ``timestep`` in
        ComfyUI's convention for the family, ``context`` the text embeddings [B, T, D]; ``extras`` carries
        what the conditioning adds (``pooled_output``, ``guidance``, SDXL's sizes, reference latents …).
        Returns the raw model output (noise, v or velocity) in ``x``'s layout."""

    def refine(self, detected: Detected, read: Callable[[str], torch.Tensor | None]) -> None:
        """Settle what key names and shapes cannot tell by reading a tensor or two (``read`` returns None
        for a key the file does not have). Most families need nothing."""
        return None
