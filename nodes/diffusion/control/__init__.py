"""Control models: the registry of ControlNet and T2I-Adapter file kinds, and loading one into the manager.

Kinds are asked in order, most specific first (a union before a plain ControlNet, Qwen-Image's InstantX
before Flux's, which share key names); each recognises its files from key names and shapes and reads the
architecture from them. Adding a kind is one class in the module of its family and one line in :data:`KINDS`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from ..state_dict import ModelFileError, TensorIndex, compute_cast, describe, index_file, read_state_dict
from . import flux, qwen, sd, sd3
from .base import ControlDetected, ControlInputs, ControlKind, ControlModel, ControlNet, Residuals

log = logging.getLogger(__name__)

KINDS: list[ControlKind] = [*qwen.KINDS, *sd3.KINDS, *flux.KINDS, *sd.KINDS]

__all__ = ["KINDS", "ControlDetected", "ControlInputs", "ControlKind", "ControlModel", "ControlNet", "Residuals",
           "detect", "detect_file", "load"]


def detect(index: TensorIndex, name: str = "") -> ControlDetected:
    """The first kind that recognises the file; a clear error naming what was found when none does."""
    for kind in KINDS:
        try:
            found = kind.detect(index)
        except (KeyError, ValueError) as exc:
            raise ModelFileError(f"{name or 'the file'} looks like a {kind.name} ControlNet but cannot be read: "
                                 f"{exc}") from exc
        if found is not None:
            found.source = name
            return found
    raise ModelFileError(f"{name or 'the file'} holds no ControlNet or T2I-Adapter Inkgraph knows ({describe(index)}); "
                         f"known kinds: {', '.join(k.name for k in KINDS)}")


def detect_file(path: Path) -> ControlDetected:
    index = index_file(path)
    detected = detect(index, path.name)

    def read(key: str) -> torch.Tensor | None:
        tensors, _ = read_state_dict(path, keys=lambda k: k == key)
        return tensors.get(key)

    detected.kind.refine(detected, read)
    if path.stem.endswith(("_shuffle", "_shuffle_fp16")):  # ComfyUI's rule for the shuffle ControlNets
        detected.extra["global_average_pooling"] = True
    detected.extra["difference"] = "difference" in index
    return detected


def _stamp(path: Path) -> tuple[str, int]:
    return str(path), path.stat().st_mtime_ns


def load(manager: Any, path: Path, model: Any = None) -> ControlModel:
    """A control model file (ControlNetLoader; DiffControlNetLoader gives the ``model`` a "diff" ControlNet is
    the difference to): its kind and architecture read from the tensors, the weights loaded once per file."""
    from inkgraph.engine.core.devices import torch_dtype

    dtype_name = manager.policy.dtype
    detected = detect_file(path)
    key: tuple[Any, ...] = ("controlnet", *_stamp(path), dtype_name)
    base = None
    if detected.extra.get("difference"):
        if model is None:
            log.warning("%s is a diff ControlNet loaded without a model; it will very likely not work", path.name)
        else:
            base = model
            key += (model.key,)
    if key not in manager:
        dtype = torch_dtype(dtype_name)
        prefix = detected.prefix
        tensors, _ = read_state_dict(path, keys=(lambda k: k.startswith(prefix)) if prefix else None,
                                     cast=compute_cast(torch.float32 if base is not None else dtype), strip=prefix)
        tensors.pop("difference", None)
        if base is not None:
            tensors = _add_base(tensors, base)
        net = detected.kind.build(tensors, detected, dtype)
        manager.add(key, net.eval().requires_grad_(False))
        log.info("loaded %s (%s %s)", path.name, detected.kind.name, detected.variant)
    return ControlModel(manager, key, detected)


def _add_base(tensors: dict[str, torch.Tensor], model: Any) -> dict[str, torch.Tensor]:
    """A diff ControlNet's weights plus the model's own (original-layout names on both sides)."""
    from ..ldm_format import unet_diffusers_to_ldm

    with model.use() as unet:
        base = unet_diffusers_to_ldm({k: v for k, v in unet.state_dict().items()}, unet.config, prefix="")
        return {k: (v + base[k].to(v.device, v.dtype) if k in base and base[k].shape == v.shape else v)
                for k, v in tensors.items()}
