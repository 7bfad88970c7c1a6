"""Text encoders in files: which kinds a file holds and where (a repackaged single file, an all-in-one
checkpoint's ``text_encoders.<slot>.transformer.``, any other prefix), and loading one of them with its
weights read straight into the compute dtype (fp8 linear weights kept in fp8, scaled-fp8 scales applied).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..scaled_fp8 import keeping_scales, split_scales
from ..state_dict import ModelFileError, TensorIndex, compute_cast, describe, index_file, read_state_dict
from .base import EncoderDetected

# keys that start an encoder's own key space; what precedes them is the encoder's prefix in the file
MARKERS = ("text_model.embeddings.token_embedding.weight", "embeddings.token_embedding.weight",
           "transformer.resblocks.0.ln_1.weight", "encoder.block.0.layer.0.SelfAttention.q.weight",
           "model.embed_tokens.weight")  # the last: language models (Qwen2.5-VL, Qwen3, Llama, Mistral)


def detect_at(index: TensorIndex, prefix: str) -> EncoderDetected | None:
    """The first kind that recognises the keys under ``prefix``."""
    from . import KINDS

    for kind in KINDS:
        found = kind.detect(index, prefix)
        if found is not None:
            return found
    return None


def find(index: TensorIndex, name: str = "") -> list[EncoderDetected]:
    """Every text encoder in the file, in key order; a clear error when there is none."""
    prefixes = sorted({key[: key.index(marker)] for key in index for marker in MARKERS if marker in key
                       and key.endswith(marker)})  # a prefix sorts before the longer prefixes inside it
    found: list[EncoderDetected] = []
    for prefix in prefixes:
        if any(prefix.startswith(f.prefix) for f in found):
            continue  # inside an encoder already found
        try:
            detected = detect_at(index, prefix)
        except (KeyError, ValueError, IndexError) as exc:
            raise ModelFileError(f"{name or 'the file'}: the text encoder under {prefix or 'no prefix'!r} cannot "
                                 f"be read: {exc}") from exc
        if detected is not None:
            detected.source = name
            found.append(detected)
    if not found:
        from . import KINDS

        raise ModelFileError(f"{name or 'the file'} holds no text encoder Inkgraph knows ({describe(index)}); "
                             f"known kinds: {', '.join(k.name for k in KINDS)}")
    return found


def find_file(path: Path) -> list[EncoderDetected]:
    return find(index_file(path), path.name)


def load(path: Path, detected: EncoderDetected, dtype: torch.dtype) -> torch.nn.Module:
    """One encoder of a file, built with its weights (read one tensor at a time, each cast as it is read)."""
    prefix = detected.prefix
    extra = set(detected.also_read)
    owned = (lambda key: key.startswith(prefix) or key in extra) if prefix else None
    tensors, _ = read_state_dict(path, keys=owned, cast=keeping_scales(compute_cast(dtype, keep_fp8=True)),
                                 strip=prefix)
    weights, scales = split_scales(tensors, path.name)
    del tensors
    detected.scales = scales
    detected.folder = path.parent
    module = detected.kind.build(weights, detected, dtype)
    module.inkgraph_file = (path, prefix)  # where text generation finds an lm_head the encoder leaves out
    return module
