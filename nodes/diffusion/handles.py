"""MODEL, CLIP and VAE values: cheap handles over weights that the model manager owns.

A loader returns handles; caching a handle costs nothing, and the weights behind it are loaded once per
(file, component, dtype) by the manager, which moves them to the compute device when a node uses them.
Derived handles (a different CLIP layer, a LoRA) share the same weights.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from inkgraph.engine.core.devices import ModelManager

from .checkpoint import Family
from .patches.options import ModelOptions


@dataclass(frozen=True)
class Lora:
    """A LoRA applied to a model or text encoder (weights are patched when the model is used)."""

    file: Any = field(compare=False)  # lora.LoraFile
    key: Hashable = None
    strength: float = 1.0


@dataclass(frozen=True)
class ModelHandle:
    """A diffusion UNet plus what the sampler needs to drive it."""

    manager: ModelManager = field(repr=False, compare=False)
    key: Hashable
    family: Family = field(compare=False)
    loras: tuple[Lora, ...] = ()
    compile_backend: str | None = None
    # A model sampling set by a ModelSampling* node; it wins over the family's (see model_api.model_sampling_of).
    sampling_override: Any = field(default=None, compare=False)
    # ComfyUI's model_options: CFG hooks, attention and block patches, wrappers (see patches.options).
    model_options: ModelOptions = field(default_factory=ModelOptions, compare=False)

    def cache_nbytes(self) -> int:
        return 64  # the weights belong to the model manager, not to the result cache

    @contextmanager
    def use(self) -> Iterator[Any]:
        from .lora import sync

        with self.manager.use(self.key) as (unet,):
            sync(unet, "unet", tuple((lora.file, lora.strength) for lora in self.loras), unet.config)
            yield compiled(unet, self.compile_backend) if self.compile_backend else unet

    def with_lora(self, lora: Lora) -> ModelHandle:
        return replace(self, loras=(*self.loras, lora))

    def with_options(self, options: ModelOptions) -> ModelHandle:
        """The same weights with other model options (a patch node's result)."""
        return replace(self, model_options=options)


def compiled(module: Any, backend: str) -> Any:
    """torch.compile of a module, made once per (module, backend) and reused (it compiles on first call).

    The wrapper lives in the module's own __dict__ (not in _modules, so state_dict is untouched): it is freed
    with the module when the model manager drops it, and a new model at a recycled id never gets a stale one.
    """
    import torch

    wrappers: dict[str, Any] = module.__dict__.setdefault("_inkgraph_compiled", {})
    if backend not in wrappers:
        wrappers[backend] = torch.compile(module, backend=backend)
    return wrappers[backend]


@dataclass(frozen=True)
class ClipHandle:
    """One text encoder (SD1/SD2) or two (SDXL), and the layer their output is read from."""

    manager: ModelManager = field(repr=False, compare=False)
    keys: tuple[Hashable, ...]
    family: Family = field(compare=False)
    layer: int | None = None  # CLIPSetLastLayer's value; None: the family's default reading
    loras: tuple[Lora, ...] = ()

    def cache_nbytes(self) -> int:
        return 64

    @contextmanager
    def use(self) -> Iterator[list[Any]]:
        from .lora import sync

        with self.manager.use(*self.keys) as encoders:
            for index, encoder in enumerate(encoders):
                sync(encoder, f"te{index}", tuple((lora.file, lora.strength) for lora in self.loras))
            yield encoders

    def at_layer(self, layer: int) -> ClipHandle:
        return replace(self, layer=layer)

    def with_lora(self, lora: Lora) -> ClipHandle:
        return replace(self, loras=(*self.loras, lora))


@dataclass(frozen=True)
class VaeHandle:
    """An autoencoder; it works on raw latents (the MODEL's family knows the latent scale factor)."""

    manager: ModelManager = field(repr=False, compare=False)
    key: Hashable

    def cache_nbytes(self) -> int:
        return 64

    @contextmanager
    def use(self) -> Iterator[Any]:
        with self.manager.use(self.key) as (vae,):
            yield vae
