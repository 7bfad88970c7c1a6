"""MODEL, CLIP and VAE values: cheap handles over weights that the model manager owns.

A loader returns handles; caching a handle costs nothing, and the weights behind it are loaded once per
(file, component, dtype) by the manager, which moves them to the compute device when a node uses them.
Derived handles (a different CLIP layer, a LoRA) share the same weights.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import contextmanager, nullcontext
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
    loras: tuple[Any, ...] = ()  # weight patches in order: Lora, or merge.Merge
    compile_backend: str | None = None
    # A model sampling set by a ModelSampling* node; it wins over the family's (see model_api.model_sampling_of).
    sampling_override: Any = field(default=None, compare=False)
    # ComfyUI's model_options: CFG hooks, attention and block patches, wrappers (see patches.options).
    model_options: ModelOptions = field(default_factory=ModelOptions, compare=False)
    # What a ComfyUI pack's ModelPatcher facade carries that Inkgraph does not run (attachments, its list of
    # weight patches …): kept so the next pack node sees it (engine/compat/comfy/model_patcher.py).
    comfy_state: Any = field(default=None, compare=False)

    def cache_nbytes(self) -> int:
        return 64  # the weights belong to the model manager, not to the result cache

    @contextmanager
    def use(self, reserve_bytes: int = 0) -> Iterator[Any]:
        """The network on the compute device (``reserve_bytes`` kept free for its activations)."""
        with self.manager.use(self.key, reserve_bytes=reserve_bytes) as (unet,):
            self.sync_weights(unet)
            yield compiled(unet, self.compile_backend) if self.compile_backend else unet

    def sync_weights(self, unet: Any, extra: tuple[tuple[Any, float], ...] = ()) -> None:
        """Make the loaded network's weights this MODEL's: base + its LoRAs, + ``extra`` (LoraFile, strength)
        pairs — the hooks of the entries being sampled (see ``hooks.sampling``)."""
        from .lora import sync
        from .merge import has_merges, target_of
        from .merge import sync as sync_merged

        if has_merges(self):  # merges apply the handle's patches parameter by parameter (hook LoRAs aside)
            sync_merged(target_of(self, module=unet))  # type: ignore[arg-type]
            return
        loras = tuple((lora.file, lora.strength) for lora in self.loras) + tuple(extra)
        detected = self.family.detected
        names = detected.family.lora_names(detected, unet) if detected is not None and loras else None
        sync(unet, "unet", loras, getattr(unet, "config", None) if names is None else None, names)

    def with_lora(self, lora: Any) -> ModelHandle:
        """The same weights with one more patch: a LoRA, or a merge (``merge.Merge``) — applied in order."""
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


# the encoder slots of an SD checkpoint's CLIP, by family (in the order the checkpoint loader adds them)
SD_SLOTS = {"sd1": ("clip_l",), "sd2": ("clip_h",), "sdxl": ("clip_l", "clip_g"), "sdxl_refiner": ("clip_g",)}


@dataclass(frozen=True)
class ClipHandle:
    """Text encoders and how a prompt is encoded with them: a recipe (CLIPLoader's ``type``:
    "stable_diffusion", "sdxl", "sd3", "flux" …; ``encoders.RECIPES``), one loaded encoder per slot, and
    the layer their output is read from."""

    manager: ModelManager = field(repr=False, compare=False)
    keys: tuple[Hashable, ...]
    family: Family = field(compare=False)
    layer: int | None = None  # CLIPSetLastLayer's value; None: the recipe's default reading
    loras: tuple[Any, ...] = ()  # weight patches in order: Lora, or merge.Merge
    recipe: str = "stable_diffusion"
    slots: tuple[str, ...] = ()  # the slot of each key ("clip_l", "clip_g", "t5xxl" …); empty: the SD family's
    device: str = "default"  # "cpu": the encoders compute on the CPU (CLIPLoader's device option)
    tokenizer_options: tuple[tuple[str, Any], ...] = ()  # T5TokenizerOptions' settings ("t5xxl_min_length" …)
    hooks: Any = field(default=None, compare=False)  # SetClipHooks' hooks.model.ClipHooks

    def cache_nbytes(self) -> int:
        return 64

    def slot_names(self) -> tuple[str, ...]:
        if self.slots:
            return self.slots
        return SD_SLOTS.get(self.family.kind, ("clip_l", "clip_g")[:len(self.keys)])

    def lora_targets(self) -> list[str]:
        """The LoRA key group of each encoder: te0 (CLIP-L, or the only CLIP), te1 (bigG beside CLIP-L), te2 (T5)."""
        slots = self.slot_names()
        return ["te1" if slot == "clip_g" and "clip_l" in slots else "te2" if slot == "t5xxl" else "te0"
                for slot in slots]

    @contextmanager
    def use(self, extra: tuple[tuple[Any, float], ...] = ()) -> Iterator[list[Any]]:
        """The loaded encoders with this CLIP's LoRAs applied, and ``extra`` (LoraFile, strength) pairs: the
        CLIP weights of SetClipHooks' hooks while a prompt is encoded."""
        from .lora import sync

        if self.device == "cpu":  # kept off the compute device: never handed to the manager's placement
            placed = nullcontext([self.manager.get(key, _not_loaded(key)) for key in self.keys])
        else:
            placed = self.manager.use(*self.keys)
        with placed as encoders:
            from .merge import has_merges, target_of
            from .merge import sync as sync_merged

            merged = has_merges(self)
            for slot, target, encoder in zip(self.slot_names(), self.lora_targets(), encoders, strict=False):
                if merged:  # merges apply the handle's patches parameter by parameter (hook LoRAs aside)
                    sync_merged(target_of(self, slot, module=encoder))  # type: ignore[arg-type]
                else:
                    sync(encoder, target, tuple((lora.file, lora.strength) for lora in self.loras) + tuple(extra))
            yield encoders

    @contextmanager
    def by_slot(self, extra: tuple[tuple[Any, float], ...] = ()) -> Iterator[dict[str, Any]]:
        """The loaded encoders by slot name."""
        with self.use(extra) as encoders:
            yield dict(zip(self.slot_names(), encoders, strict=True))

    def at_layer(self, layer: int) -> ClipHandle:
        return replace(self, layer=layer)

    def with_tokenizer_options(self, **options: Any) -> ClipHandle:
        return replace(self, tokenizer_options=tuple({**dict(self.tokenizer_options), **options}.items()))

    def with_lora(self, lora: Any) -> ClipHandle:
        return replace(self, loras=(*self.loras, lora))


def _not_loaded(key: Hashable) -> Any:
    def fail() -> Any:
        raise RuntimeError(f"text encoder {key} is no longer loaded; run its loader again")

    return fail


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
