"""Adding residuals to a transformer's blocks for one call, as ComfyUI's DiT models add ControlNet outputs.

After block ``i`` of a stack, its image-stream output gains ``residuals[i]`` over its first tokens
(``hidden[:, :n] += add``, so reference tokens appended after the image's — Kontext — are left alone). The
blocks of diffusers' Flux, SD3 and Qwen-Image transformers return ``(encoder_hidden_states, hidden_states)``;
forward hooks change that output for the duration of the call and are removed afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812


def add_tokens(hidden: torch.Tensor, add: torch.Tensor) -> torch.Tensor:
    """``hidden`` with ``add`` added over its first tokens (dim 1)."""
    add = add.to(hidden.dtype)
    if add.shape[1] < hidden.shape[1]:
        add = F.pad(add, (0, 0, 0, hidden.shape[1] - add.shape[1]))
    if add.shape[0] != hidden.shape[0]:
        add = add.expand(hidden.shape[0], *add.shape[1:]) if add.shape[0] == 1 else add
    return hidden + add


@contextmanager
def block_residuals(blocks: Sequence[torch.nn.Module], residuals: Sequence[torch.Tensor | None],
                    output: int = 1) -> Iterator[None]:
    """During the block, block ``i``'s output element ``output`` (the image stream) gains ``residuals[i]``."""
    with ExitStack() as stack:
        for block, add in zip(blocks, residuals, strict=False):
            if add is None:
                continue

            def hook(module: Any, args: Any, result: Any, add: torch.Tensor = add) -> Any:
                if isinstance(result, tuple):
                    parts = list(result)
                    parts[output] = add_tokens(parts[output], add)
                    return tuple(parts)
                return add_tokens(result, add)

            stack.callback(block.register_forward_hook(hook).remove)
        yield


BLOCK_PATCHES = "inkgraph_block_patches"  # where ``lent`` leaves a call's block patches for the adapter


@contextmanager
def lent(module: Any, patches: list[Any], transformer_options: Any) -> Iterator[None]:
    """The call's ``transformer_options["patches"]`` block patches, on ``module`` for the adapter's ``apply``
    (which knows the latent they are called with) during one call."""
    module.__dict__[BLOCK_PATCHES] = (patches, transformer_options)
    try:
        yield
    finally:
        module.__dict__.pop(BLOCK_PATCHES, None)


@contextmanager
def block_patches(blocks: Sequence[torch.nn.Module], patches: Sequence[Any], x: torch.Tensor,
                  transformer_options: Any) -> Iterator[None]:
    """ComfyUI's ``double_block`` patches on dual-stream blocks returning ``(txt, img)``: after block ``i``,
    each patch is called with ``{"img", "txt", "x", "block_index", "transformer_options"}`` and its ``img``
    (and ``txt``) replace the block's outputs — before any ControlNet residual is added, as in ComfyUI."""
    with ExitStack() as stack:
        for index, block in enumerate(blocks):

            def hook(module: Any, args: Any, result: Any, index: int = index) -> Any:
                txt, img = result
                for patch in patches:
                    out = patch({"img": img, "txt": txt, "x": x, "block_index": index,
                                 "transformer_options": transformer_options})
                    img, txt = out["img"], out.get("txt", txt)
                return txt, img

            stack.callback(block.register_forward_hook(hook).remove)
        yield
