"""CLIPLoader type ``ltxv``: T5-XXL, as ComfyUI's LTXV text encoder (its Mochi T5 with attention masks).

The prompt's tokens end with ``</s>`` (1), no start token, and are padded with ``<pad>`` (0) to at least 128;
the padding is masked out of T5's self-attention, its states are zeroed, and the mask goes into the
conditioning as ``attention_mask`` so the model leaves the padding out of cross-attention too. Weighted
tokens are pushed away from the empty prompt's states (encoded the same way). Textual-inversion vectors are
not read for T5 here.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import EncodeRequest, PromptRecipe
from .prompt import chunks_for
from .t5 import t5_rules

MIN_LENGTH = 128
PAD = 0


def _run(encoder: Any, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """(states [N, T, D] with padding zeroed, mask [N, T]) of token rows of equal length."""
    device = next(encoder.parameters()).device
    ids = torch.tensor(rows, dtype=torch.long)
    mask = (ids != PAD).long()
    with torch.no_grad():
        out = encoder(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state.float().cpu()
    return out * mask[..., None], mask


def encode_ltxv(encoder: Any, text: str, context: EncodeRequest | None) -> tuple[torch.Tensor, torch.Tensor]:
    """([1, max(128, tokens), width] states, [1, same] attention mask) of a prompt."""
    rules = t5_rules(MIN_LENGTH)
    chunks = chunks_for(encoder, text, rules, context)
    row = [t if isinstance(t, int) else PAD for t, _ in chunks[0]] if chunks else rules.empty(MIN_LENGTH)
    weights = [w for _, w in chunks[0]] if chunks else [1.0] * len(row)
    rows = [row]
    weighted = any(w != 1.0 for w in weights)
    if weighted:
        rows.append(rules.empty(len(row)))
    states, mask = _run(encoder, rows)
    hidden = states[:1]
    if weighted:
        empty = states[1:2]
        hidden = (hidden - empty) * torch.tensor(weights, dtype=hidden.dtype)[None, :, None] + empty
    return hidden, mask[:1]


class LTXV(PromptRecipe):
    name = "ltxv"
    slots = ("t5xxl",)
    required = ("t5xxl",)

    def encode(self, encoders: dict[str, Any], text: str, layer: int | None, context: EncodeRequest
               ) -> list[list[Any]]:
        hidden, mask = encode_ltxv(encoders["t5xxl"], text, context)
        options: dict[str, Any] = {}
        if not bool(mask.all()):
            options["attention_mask"] = mask
        return [[hidden, options]]
