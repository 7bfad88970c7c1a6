"""ComfyUI's "scaled fp8" files: linear weights stored in fp8 with a per-layer ``<module>.scale_weight`` (the
real weight is weight · scale), an optional ``<module>.scale_input`` (for fp8 matrix multiplication, unused
here), and an empty ``scaled_fp8`` tensor marking the file (its dtype is the fp8 format).

Reading keeps the scales in float32 (:func:`keeping_scales`); :func:`split_scales` takes them out of a
state dict, keyed by module name, for ``weights.apply_scales`` once the model is built.
"""

from __future__ import annotations

import torch

from .state_dict import CastRule

SCALE_SUFFIXES = (".scale_weight", ".scale_input")
MARKER = "scaled_fp8"


def keeping_scales(cast: CastRule) -> CastRule:
    """``cast`` for every tensor but the scales, which stay float32."""

    def rule(key: str, tensor: torch.Tensor) -> torch.Tensor:
        if key.endswith(SCALE_SUFFIXES):
            return tensor.float()
        return cast(key, tensor)

    return rule


def split_scales(tensors: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(weights without the scale entries and the marker, {module name: scale_weight})."""
    weights: dict[str, torch.Tensor] = {}
    scales: dict[str, torch.Tensor] = {}
    for key, tensor in tensors.items():
        if key == MARKER or key.endswith("." + MARKER):
            continue
        if key.endswith(".scale_weight"):
            scales[key[: -len(".scale_weight")]] = tensor.float()
        elif not key.endswith(".scale_input"):
            weights[key] = tensor
    return weights, scales
