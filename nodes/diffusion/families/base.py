"""What a model family declares: how to recognise its files, its architecture read from the tensors, the
class that implements it, its latent format, how it predicts, and the text encoders it takes.

One module per family implements :class:`DiffusionFamily`; the registry (``families/__init__.py``) asks
each in turn. Loaders, samplers and the compatibility layer ask the family; nothing else switches on
family names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from ..state_dict import TensorIndex

if TYPE_CHECKING:
    from ..conds import ModelAdapter


# diffusers' attention projections: q, k, v and out of image (and joint-attention text) streams
ATTENTION_TARGETS = r".*\.(to_q|to_k|to_v|to_out\.0|add_q_proj|add_k_proj|add_v_proj|to_add_out)"


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
    taesd_decoder: str | None = None  # the TAESD decoder file previews use (models/vae_approx/<name>.*)
    # per-channel statistics (Wan's VAEs): latent = (vae_latent − mean)·scale / std, channel by channel
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    dims: int = 2  # latent dimensions after the channels: 2 for images [B, C, H, W], 3 for video [B, C, T, H, W]
    temporal: int = 1  # frames per latent frame (video: 4, the first latent frame holding one)

    def _stats(self, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (1, -1, *([1] * (latent.ndim - 2)))
        assert self.mean is not None and self.std is not None
        return (torch.tensor(self.mean, dtype=latent.dtype, device=latent.device).view(shape),
                torch.tensor(self.std, dtype=latent.dtype, device=latent.device).view(shape))

    def process_in(self, latent: torch.Tensor) -> torch.Tensor:
        """VAE latents → the model's space."""
        if self.mean is not None:
            mean, std = self._stats(latent)
            return (latent - mean) * self.scale_factor / std
        return (latent - self.shift_factor) * self.scale_factor

    def process_out(self, latent: torch.Tensor) -> torch.Tensor:
        """The model's space → VAE latents."""
        if self.mean is not None:
            mean, std = self._stats(latent)
            return latent * std / self.scale_factor + mean
        return latent / self.scale_factor + self.shift_factor


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
    def model_sampling(self, detected: Detected) -> Any:
        """How this model reads σ by default (a ``model_sampling.combine(...)`` object; the ModelSampling*
        nodes override it)."""

    @abstractmethod
    def adapter(self, detected: Detected) -> ModelAdapter:
        """What turns conditioning entries into the network's inputs and runs it (``conds.ModelAdapter``)."""

    def lora_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, Any] | None:
        """LoRA module names beyond the model's own (diffusers) ones — the original layout's, flattened with
        underscores as kohya writes them — each mapped to the modules it patches: ``[(module, rows)]``,
        rows (start, end) of the original weight when it is fused (Flux's q, k, v). None: the UNet's LDM
        names (SD1/SD2/SDXL)."""
        return None

    def train_targets(self, detected: Detected, module: torch.nn.Module) -> str:
        """The modules TrainLoraNode gives adapters to: a regular expression over the model's (diffusers)
        module names, matched whole (peft's ``target_modules``). By default every attention projection
        under diffusers' usual names, which any transformer family has; families add their MLPs. The
        trained LoRA is written under :meth:`lora_names` (or the LDM names of an SD UNet)."""
        return ATTENTION_TARGETS

    def original_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, str]:
        """Each parameter's name in the family's original layout (``input_blocks.4.1…``, ``double_blocks.7…``),
        which block-wise merge ratios match; parameters left out keep their own names."""
        return {}

    def original_state(self, detected: Detected, module: torch.nn.Module) -> dict[str, torch.Tensor]:
        """The model's weights in the original layout, as ModelSave writes them (without a prefix)."""
        raise ValueError(f"{self.name} models cannot be written in their original layout yet")

    def refine(self, detected: Detected, read: Callable[[str], torch.Tensor | None]) -> None:
        """Settle what key names and shapes cannot tell by reading a tensor or two (``read`` returns None
        for a key the file does not have). Most families need nothing."""
        return None


@dataclass
class Family:
    """What a MODEL (and the CLIP and VAE of the same checkpoint) knows about its model: the family's name
    (``kind``), its configs, and — for diffusion models read through the registry — the detection, which
    gives the sampler its model sampling, adapter and latent format."""

    kind: str  # "sd1", "sd2", "sdxl", "flux", …
    prediction: str = "epsilon"  # SD's "epsilon" / "v_prediction", for files written back and old callers
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # component → diffusers config
    detected: Detected | None = None

    @property
    def text_encoders(self) -> list[str]:
        """The diffusers names of an SD checkpoint's text encoders."""
        if self.kind == "sdxl":
            return ["text_encoder", "text_encoder_2"]
        return ["text_encoder"]

    @property
    def latent_format(self) -> LatentFormat:
        """The family's latent format; a checkpoint whose VAE config names its own scale and shift (files
        Inkgraph wrote, such as the embedded demo model) keeps them."""
        base = self.detected.family.latent if self.detected is not None else LatentFormat(4, 0.18215)
        vae = self.configs.get("vae", {})
        if "scaling_factor" not in vae:
            return base
        shift = vae.get("shift_factor")
        return replace(base, scale_factor=float(vae["scaling_factor"]),
                       shift_factor=float(shift) if shift is not None else base.shift_factor)

    @property
    def latent_scale(self) -> float:
        return self.latent_format.scale_factor

    def model_sampling(self) -> Any:
        if self.detected is not None:
            return self.detected.family.model_sampling(self.detected)
        from ..model_sampling import discrete

        return discrete(self.prediction)

    @property
    def adapter(self) -> ModelAdapter | None:
        return self.detected.family.adapter(self.detected) if self.detected is not None else None
