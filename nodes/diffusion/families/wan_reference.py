"""Wan 2.2 Fun's reference image (ComfyUI's ``WanModel.ref_conv``), on diffusers' Wan transformer.

The file's ``ref_conv`` is a strided 2-D convolution from a reference latent [B, C, h, w] (the model's space)
to tokens of the patch grid. ComfyUI puts those tokens before the video's, computes the rotary positions for
one more frame (the reference sits at frame 0, the video at frames 1 …) and drops the reference's tokens
after the output projection. Here the same is done with forward hooks on diffusers' modules, active while
``model.reference_embedder.pending`` holds the call's reference latent:

- ``rope``: the position table of a video one patch-frame longer;
- ``patch_embedding``: the reference's tokens as a frame before the video's;
- ``proj_out``: the reference's tokens dropped.
"""

from __future__ import annotations

from typing import Any

import torch

PREFIX = "ref_conv."


class ReferenceEmbedder(torch.nn.Module):
    """Holds ``ref_conv`` and, during one network call, the reference latent (``pending``)."""

    def __init__(self, in_channels: int, width: int, patch: tuple[int, int]) -> None:
        super().__init__()
        self.ref_conv = torch.nn.Conv2d(in_channels, width, kernel_size=patch, stride=patch)
        self.pending: torch.Tensor | None = None
        self.tokens = 0


def install_reference(model: Any, state: dict[str, torch.Tensor], dtype: torch.dtype, source: str) -> None:
    """Attach the reference embedder (weights ``ref_conv.*``) and the hooks that use it."""
    from ..state_dict import ModelFileError

    weight = state.get(PREFIX + "weight")
    if weight is None or weight.ndim != 4:
        raise ModelFileError(f"{source}: ref_conv.weight is missing or not a 2-D convolution's weight")
    width, in_channels, kh, kw = weight.shape
    embedder = ReferenceEmbedder(int(in_channels), int(width), (int(kh), int(kw)))
    tensors = {k[len(PREFIX):]: v.float() for k, v in state.items() if k.startswith(PREFIX)}
    missing, unexpected = embedder.ref_conv.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise ModelFileError(f"{source}: the reference embedder does not fit ({(missing or unexpected)[0]})")
    model.reference_embedder = embedder.to(dtype).eval().requires_grad_(False)

    def longer_rope(module: Any, inputs: Any, output: Any) -> Any:
        if embedder.pending is None:
            return output
        x = inputs[0]
        b, c, f, h, w = x.shape
        return module.forward(x.new_empty(1, 1, 1, 1, 1).expand(b, c, f + module.patch_size[0], h, w))

    def prepend(module: Any, inputs: Any, output: torch.Tensor) -> torch.Tensor:
        pending = embedder.pending
        if pending is None:
            return output
        reference = embedder.ref_conv(pending.to(output.device, output.dtype))
        if reference.shape[-2:] != output.shape[-2:]:
            raise ValueError(f"the reference latent gives a {tuple(reference.shape[-2:])} token grid and the video "
                             f"{tuple(output.shape[-2:])}: give Wan22FunControlToVideo's ref_image at the video's size")
        if reference.shape[0] != output.shape[0]:
            reference = reference.repeat(-(-output.shape[0] // reference.shape[0]), 1, 1, 1)[: output.shape[0]]
        embedder.tokens = reference.shape[-2] * reference.shape[-1]
        return torch.cat((reference.unsqueeze(2), output), dim=2)

    def drop(module: Any, inputs: Any, output: torch.Tensor) -> torch.Tensor:
        if embedder.pending is None:
            return output
        return output[:, embedder.tokens:]

    model.rope.register_forward_hook(longer_rope)
    model.patch_embedding.register_forward_hook(prepend)
    model.proj_out.register_forward_hook(drop)
