"""ByT5-small, Glyph-SDXL's glyph encoder (ComfyUI's ``byt5_small_glyphxl_fp16.safetensors``), as transformers'
T5EncoderModel: HunyuanVideo 1.5 and HunyuanImage 2.1 read it for the text a prompt puts in quotes.

The file holds T5's keys (``encoder.block.N…``, ``shared.weight``); what tells it from T5-XXL is its
vocabulary: bytes (256 + 3 specials) and Glyph-SDXL's colour and font tokens, 1,510 rows, not 32,128. The
architecture is read from the tensors as for T5 (:func:`.t5.read_config`). The tokenizer is ByT5's, which is
algorithmic (a token per UTF-8 byte, offset by 3, ``</s>`` = 1 at the end) and needs no vocabulary file.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch

from ..state_dict import TensorIndex
from .base import EncoderDetected, EncoderKind
from .t5 import T5XXL, read_config

MAX_VOCABULARY = 4096  # byte-level vocabularies; T5's sentencepiece ones are 32,100 and more
END = 1


class ByT5Small(EncoderKind):
    """ByT5's encoder (gated GELU), 12 blocks 1,472 wide in the released file; any width and depth is read."""

    name = "byt5_small"

    def detect(self, index: TensorIndex, prefix: str = "") -> EncoderDetected | None:
        config = read_config(index, prefix)
        if config is None or config["vocab_size"] > MAX_VOCABULARY:
            return None
        return EncoderDetected(self, prefix, config)

    def build(self, tensors: dict[str, torch.Tensor], detected: EncoderDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        return T5XXL().build(tensors, detected, dtype)

    def tokenizer(self) -> Any:
        return byt5_tokenizer()


@cache
def byt5_tokenizer() -> Any:
    from transformers import ByT5Tokenizer

    return ByT5Tokenizer(extra_ids=0)


def encode(model: Any, text: str) -> torch.Tensor:
    """The last layer's states (after the final norm) [1, T, D] of ``text``'s bytes and ``</s>``, float32 on
    the CPU, as ComfyUI's ByT5SmallModel (no padding: one prompt)."""
    ids = list(byt5_tokenizer()(text, add_special_tokens=False)["input_ids"]) + [END]
    device = next(model.parameters()).device
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids], dtype=torch.long, device=device))
    return out.last_hidden_state.float().cpu()  # type: ignore[no-any-return]
