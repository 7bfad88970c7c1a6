"""The CONTROL_NET value and what every kind of control model declares.

A CONTROL_NET is ComfyUI's ``ControlBase``: a loaded control model (a handle over weights the model manager
owns) plus the settings of one application — the hint image, strength, the (start, end) percent range, the VAE
that encodes the hint for latent-input ControlNets, extra channels concatenated to the hint (inpainting masks),
extra arguments (a union ControlNet's ``control_type``) — and the ControlNet applied before it on the same
conditioning (``previous_controlnet``), so several ControlNets stack on one entry. The methods keep ComfyUI's
semantics (``copy()`` gives a new value, ``set_cond_hint`` and ``set_previous_controlnet`` change it and return
it), so custom nodes written against ComfyUI's API work on it.

A kind of control model (:class:`ControlKind`, one module per family under ``control/``, listed in
``control.KINDS``) recognises its files from their keys and shapes, builds the diffusers module, and turns one
network call's inputs into residuals for the main network (:meth:`ControlKind.residuals`). Residuals are named
lists, one entry per block of the *main* network (None where a block gets nothing): ``down``/``mid`` (UNet
skip connections and middle block), ``intrablock`` (T2I-Adapter features), ``double``/``single`` (Flux's two
block stacks), ``blocks`` (SD3's and Qwen-Image's joint blocks). A family's adapter adds them
(see docs/model-layer.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from ..families.base import LatentFormat
from ..state_dict import TensorIndex

Residuals = dict[str, list[torch.Tensor | None]]


@dataclass
class ControlDetected:
    """A kind's reading of one control file: its diffusers config and what else the shapes tell."""

    kind: ControlKind
    config: dict[str, Any]
    prefix: str = ""
    variant: str = ""  # for messages ("union", "inpaint", "canny" …)
    source: str = ""  # the file's name
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ControlInputs:
    """What one network call of the main model gives its ControlNets: the input ``x`` (the model's input
    space, ``model_sampling.calculate_input``), the timestep the network is fed, the main network itself (some
    ControlNets borrow its embeddings), and the family's own prepared inputs in ``values`` (the UNet's
    ``encoder_hidden_states`` and ``added_cond_kwargs``; Flux's ``context``, ``pooled``, ``guidance``, packed
    ``tokens`` and their ``img_ids``/``txt_ids``; SD3's ``context`` and ``pooled``)."""

    family: str  # the adapter's control family: "unet", "flux", "sd3", "qwen_image" …
    x: torch.Tensor
    timestep: torch.Tensor
    main: Any
    values: dict[str, Any] = field(default_factory=dict)
    blocks: dict[str, int] = field(default_factory=dict)  # the main network's block counts ("double": 19 …)


class ControlKind(ABC):
    """One kind of control model file (SD ControlNet, Flux InstantX union, SD3.5 …)."""

    name: ClassVar[str]
    families: ClassVar[frozenset[str]]  # the adapter control families it can drive
    compression: ClassVar[int] = 8  # hint pixels per latent cell (latent-input kinds: 1, then the VAE's 8)
    latent_input: ClassVar[bool] = False  # the hint is VAE-encoded (needs the apply node's vae input)
    upscale: ClassVar[str] = "nearest-exact"

    @abstractmethod
    def detect(self, index: TensorIndex) -> ControlDetected | None:
        """This kind's reading of the file (architecture from the shapes), or None when it is not one."""

    @abstractmethod
    def build(self, tensors: dict[str, torch.Tensor], detected: ControlDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        """The diffusers module holding the file's weights (prefix already removed)."""

    @abstractmethod
    def residuals(self, net: Any, detected: ControlDetected, control: ControlNet, hint: torch.Tensor,
                  inputs: ControlInputs) -> Residuals:
        """The residuals of one call, unscaled (the caller applies the strength)."""

    def hint_format(self, detected: ControlDetected, model_format: LatentFormat) -> LatentFormat:
        """The latent format a latent-input hint is brought into (by default the sampled model's)."""
        return model_format

    def preprocess(self, detected: ControlDetected, hint: torch.Tensor) -> torch.Tensor:
        """The hint image (NCHW, 0..1, at the size it is used) before encoding; most kinds use it as is."""
        return hint

    def concat_mask(self, detected: ControlDetected) -> bool:
        """Whether the hint takes a mask channel after it (inpainting ControlNets)."""
        return False

    def refine(self, detected: ControlDetected, read: Callable[[str], torch.Tensor | None]) -> None:
        """Settle what shapes cannot tell by reading a tensor (a file's ``control_type``)."""
        return None

    def scale_size(self, detected: ControlDetected, width: int, height: int) -> tuple[int, int]:
        """The hint's size for a latent of ``width``×``height`` pixels (T2I-Adapters round up)."""
        return width, height


@dataclass(frozen=True)
class ControlModel:
    """A loaded control model: weights owned by the model manager under ``key``, and how the file reads."""

    manager: Any = field(repr=False, compare=False)
    key: Hashable
    detected: ControlDetected = field(compare=False)

    @property
    def kind(self) -> ControlKind:
        return self.detected.kind

    @contextmanager
    def use(self) -> Iterator[Any]:
        with self.manager.use(self.key) as (net,):
            yield net


@dataclass(eq=False)
class ControlNet:
    """CONTROL_NET: a control model and one application of it (ComfyUI's ControlBase, same attribute names)."""

    model: ControlModel
    cond_hint_original: torch.Tensor | None = None  # [B, C, H, W] in 0..1
    strength: float = 1.0
    timestep_percent_range: tuple[float, float] = (0.0, 1.0)
    vae: Any = None
    extra_concat_orig: list[torch.Tensor] = field(default_factory=list)
    extra_args: dict[str, Any] = field(default_factory=dict)
    previous_controlnet: ControlNet | None = None

    def cache_nbytes(self) -> int:
        hint = self.cond_hint_original
        return 64 + (hint.numel() * hint.element_size() if isinstance(hint, torch.Tensor) else 0)

    @property
    def concat_mask(self) -> bool:
        return self.model.kind.concat_mask(self.model.detected)

    def copy(self) -> ControlNet:
        """The same model and settings without the previous ControlNet link (ComfyUI's ``copy``)."""
        return ControlNet(self.model, self.cond_hint_original, self.strength, self.timestep_percent_range,
                          self.vae, list(self.extra_concat_orig), dict(self.extra_args))

    def set_cond_hint(self, cond_hint: torch.Tensor, strength: float = 1.0,
                      timestep_percent_range: tuple[float, float] = (0.0, 1.0), vae: Any = None,
                      extra_concat: list[torch.Tensor] | None = None) -> ControlNet:
        self.cond_hint_original = cond_hint
        self.strength = float(strength)
        self.timestep_percent_range = (float(timestep_percent_range[0]), float(timestep_percent_range[1]))
        if self.model.kind.latent_input:
            self.vae = vae
        self.extra_concat_orig = list(extra_concat or [])
        if self.concat_mask and not self.extra_concat_orig:
            self.extra_concat_orig.append(torch.ones(1, 1, 1, 1))  # "nothing masked": the whole hint counts
        return self

    def set_previous_controlnet(self, controlnet: ControlNet | None) -> ControlNet:
        self.previous_controlnet = controlnet
        return self

    def set_extra_arg(self, argument: str, value: Any = None) -> None:
        self.extra_args[argument] = value

    def chain(self) -> list[ControlNet]:
        """This ControlNet and those applied before it, the first applied first."""
        out: list[ControlNet] = []
        current: ControlNet | None = self
        while current is not None:
            if any(current is seen for seen in out):
                raise ValueError("the ControlNets on this conditioning link back to themselves")
            out.append(current)
            current = current.previous_controlnet
        return out[::-1]


def merge(total: Residuals | None, new: Residuals, strength: float) -> Residuals:
    """``total`` plus ``new``·strength, entry by entry (ComfyUI's control_merge: lists of different lengths
    keep the longer one's tail; a None entry adds nothing)."""
    out: Residuals = {key: list(values) for key, values in (total or {}).items()}
    for key, values in new.items():
        target = out.setdefault(key, [])
        for index, value in enumerate(values):
            scaled = None if value is None else value * strength
            if index >= len(target):
                target.append(scaled)
            elif scaled is not None:
                previous = target[index]
                target[index] = scaled if previous is None else previous + scaled
    return out


def repeat_blocks(samples: list[torch.Tensor], count: int, cyclic: bool = False) -> list[torch.Tensor | None]:
    """A ControlNet's per-block outputs spread over the ``count`` blocks of the main network: each repeated
    ceil(count / len) times in a row (InstantX, SD3), or the whole list repeated (XLabs, ``cyclic``)."""
    if not samples or count <= 0:
        return []
    if cyclic:
        return [samples[i % len(samples)] for i in range(count)]
    repeat = -(-count // len(samples))
    return [samples[i // repeat] for i in range(count)]
