"""ComfyUI's fp8 files with scales, in both layouts it writes:

- "scaled fp8": linear weights stored in fp8 with a per-layer ``<module>.scale_weight`` (the real weight is
  weight · scale), an optional ``<module>.scale_input`` (for fp8 matrix multiplication, unused here), and
  an empty ``scaled_fp8`` tensor marking the file (its dtype is the fp8 format);
- per-layer quantisation ("fp8mixed" files, comfy-kitchen's layout): ``<module>.weight`` in fp8 with
  ``<module>.weight_scale`` and ``<module>.comfy_quant`` (UTF-8 JSON, e.g. ``{"format": "float8_e4m3fn"}``,
  as uint8), optionally ``<module>.input_scale``; layers without them are in full precision.

Reading keeps the scales in float32 (:func:`keeping_scales`); :func:`split_scales` takes them out of a
state dict, keyed by module name, for ``weights.apply_scales`` once the model is built.
"""

from __future__ import annotations

import json

import torch

from .state_dict import CastRule, ModelFileError

SCALE_SUFFIXES = (".scale_weight", ".scale_input", ".weight_scale", ".input_scale")
MARKER = "scaled_fp8"
FP8_FORMATS = ("float8_e4m3fn", "float8_e5m2")


def keeping_scales(cast: CastRule) -> CastRule:
    """``cast`` for every tensor but the scales and quantisation records, which stay as they are stored
    (scales as float32)."""

    def rule(key: str, tensor: torch.Tensor) -> torch.Tensor:
        if key.endswith(SCALE_SUFFIXES):
            return tensor.float()
        if key.endswith(".comfy_quant"):
            return tensor
        return cast(key, tensor)

    return rule


def _format(record: torch.Tensor) -> str:
    try:
        return str(json.loads(bytes(record.to(torch.uint8).flatten().tolist())).get("format", ""))
    except (ValueError, UnicodeDecodeError):
        return "unreadable"


def split_scales(tensors: dict[str, torch.Tensor], source: str = "") -> tuple[dict[str, torch.Tensor],
                                                                            dict[str, torch.Tensor]]:
    """(weights without the scale entries and markers, {module name: weight scale}); a layer quantised in a
    format other than fp8 (int8, nvfp4 …) is a clear error."""
    weights: dict[str, torch.Tensor] = {}
    scales: dict[str, torch.Tensor] = {}
    for key, tensor in tensors.items():
        if key == MARKER or key.endswith("." + MARKER) or key.endswith((".scale_input", ".input_scale")):
            continue
        if key.endswith(".comfy_quant"):
            found = _format(tensor)
            if found not in FP8_FORMATS:
                raise ModelFileError(f"{source + ': ' if source else ''}{key[: -len('.comfy_quant')]} is quantised as "
                                     f"{found!r}; Inkgraph reads fp8 ({', '.join(FP8_FORMATS)}) quantised layers")
        elif key.endswith(".scale_weight"):
            scales[key[: -len(".scale_weight")]] = tensor.float()
        elif key.endswith(".weight_scale"):
            scales[key[: -len(".weight_scale")]] = tensor.float()
        else:
            weights[key] = tensor
    return weights, scales
