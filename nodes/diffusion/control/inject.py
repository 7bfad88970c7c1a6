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
