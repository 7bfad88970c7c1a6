"""ComfyUI's ``node_helpers``: the small utilities packs share with ComfyUI's own nodes.

These work on plain values (conditioning lists, PIL calls, tensors), so they behave exactly as in ComfyUI.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from .stubs import comfy_attribute

_HASHERS: dict[str, Callable[..., Any]] = {"md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256,
                                             "sha512": hashlib.sha512}


def conditioning_set_values(conditioning: list[Any], values: dict[str, Any] | None = None,
                            append: bool = False) -> list[Any]:
    """A copy of ``conditioning`` (a list of ``[tensor, dict]``) whose dicts have ``values`` set; with
    ``append`` an existing value is extended (``old + new``) instead of replaced."""
    out = []
    for cond, options in conditioning:
        updated = dict(options)
        for key, value in (values or {}).items():
            previous = updated.get(key)
            updated[key] = previous + value if append and previous is not None else value
        out.append([cond, updated])
    return out


def pillow(fn: Callable[[Any], Any], arg: Any) -> Any:
    """``fn(arg)`` for a PIL call, retried with truncated images allowed when PIL refuses the file."""
    from PIL import ImageFile, UnidentifiedImageError

    try:
        return fn(arg)
    except (OSError, UnidentifiedImageError, ValueError):
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            return fn(arg)
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def hasher() -> Callable[..., Any]:
    """The hash constructor ComfyUI uses for file hashes (sha256 by default)."""
    from .comfy.cli_args import args

    return _HASHERS[args.default_hashing_function]


def string_to_torch_dtype(string: str) -> Any:
    """``"fp32"``/``"fp16"``/``"bf16"`` as a torch dtype (None for anything else)."""
    import torch

    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}.get(string)


def image_alpha_fix(destination: Any, source: Any) -> tuple[Any, Any]:
    """Make two images' channel counts agree as ComfyUI does: drop the source's extra channel, or give the
    destination one more, opaque, channel (packs expect exactly this, even where it cannot broadcast)."""
    import torch

    if destination.shape[-1] < source.shape[-1]:
        source = source[..., :destination.shape[-1]]
    elif destination.shape[-1] > source.shape[-1]:
        destination = torch.nn.functional.pad(destination, (0, 1))
        destination[..., -1] = 1.0
    return destination, source


def __getattr__(name: str) -> Any:
    return comfy_attribute("node_helpers", name)
