"""The model-family registry: which family a file's diffusion model belongs to, read from its tensors.

Families are asked in order, most specific first; each recognises its own keys (with or without the
prefixes distributions add) and reads its architecture from the shapes. Adding a family is one module
here and one line in :data:`FAMILIES`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from ..state_dict import ModelFileError, TensorIndex, compute_cast, describe, index_file, read_state_dict
from .base import Detected, DiffusionFamily, Family, LatentFormat
from .chroma import Chroma
from .flux import Flux
from .flux2 import Flux2
from .hidream import HiDream
from .hunyuan_video import HunyuanVideo15
from .ltxv import LTXV
from .lumina2 import Lumina2
from .omnigen2 import OmniGen2
from .qwen_image import QwenImage
from .sd import FAMILIES as SD_FAMILIES
from .sd3 import SD3
from .wan import Wan21, Wan22
from .z_image import ZImage

log = logging.getLogger(__name__)

FAMILIES: list[DiffusionFamily] = [HunyuanVideo15(), LTXV(), Flux2(), HiDream(), Chroma(), Flux(), SD3(), QwenImage(),
                                   Wan22(), Wan21(), ZImage(), Lumina2(), OmniGen2(), *SD_FAMILIES]

__all__ = ["FAMILIES", "Detected", "DiffusionFamily", "Family", "LatentFormat", "by_name", "detect", "detect_file",
           "load_diffusion_model"]


def by_name(name: str) -> DiffusionFamily:
    for family in FAMILIES:
        if family.name == name:
            return family
    raise KeyError(name)


def detect(index: TensorIndex, name: str = "") -> Detected:
    """The first family that recognises the file's diffusion model; a clear error naming what was found
    when none does."""
    for family in FAMILIES:
        try:
            found = family.detect(index)
        except (KeyError, ValueError) as exc:
            raise ModelFileError(f"{name or 'the file'} looks like a {family.name} model but its architecture "
                                 f"cannot be read: {exc}") from exc
        if found is not None:
            return found
    raise ModelFileError(f"{name or 'the file'} holds no diffusion model Inkgraph knows ({describe(index)}); "
                         f"known families: {', '.join(f.name for f in FAMILIES)}")


def _reader(path: Path) -> object:
    def read(key: str) -> torch.Tensor | None:
        tensors, _ = read_state_dict(path, keys=lambda k: k == key)
        return tensors.get(key)

    return read


def detect_file(path: Path) -> tuple[Detected, TensorIndex]:
    index = index_file(path)
    detected = detect(index, path.name)
    detected.source = path.name
    detected.family.refine(detected, _reader(path))  # type: ignore[arg-type]
    return detected, index


def load_diffusion_model(path: Path, dtype: torch.dtype, storage: torch.dtype | None = None,
                         detected: Detected | None = None) -> tuple[torch.nn.Module, Detected]:
    """A file's diffusion model, its weights read straight into ``dtype`` (fp8 weights kept in fp8), then
    linear layers stored in ``storage`` when one is given (UNETLoader's fp8 weight_dtype)."""
    from ..scaled_fp8 import keeping_scales
    from ..weights import quantize_linears

    if detected is None:
        detected, _ = detect_file(path)
    family, prefix = detected.family, detected.prefix
    owned = (lambda k: k.startswith(prefix)) if prefix else None  # without a prefix, the file is the model
    tensors, _ = read_state_dict(path, keys=owned, cast=keeping_scales(compute_cast(dtype, keep_fp8=True)),
                                 strip=prefix)
    model = family.build(tensors, detected, dtype)
    del tensors
    if storage is not None:
        count = quantize_linears(model, storage, skip=getattr(family, "keep_precision", ()))
        log.info("%s: %d linear layers stored as %s", path.name, count, storage)
    return model, detected
