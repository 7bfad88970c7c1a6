"""CLIPLoader type ``wan``: umT5-XXL, as ComfyUI's WanT5Model.

The prompt's tokens end with ``</s>`` (1), no start token, no chunks; the states of the prompt's tokens are
followed by zeros up to 512 tokens (ComfyUI pads with ``<pad>``, masks the padding out of attention and
zeroes its output: the same). Weighted tokens are pushed away from the empty prompt's states, whose
padding is zero too.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from .base import EncodeRequest, PromptRecipe
from .prompt import Reading, TokenRules, chunks_for, depth, run

MIN_LENGTH = 512
END, PAD = 1, 0


def umt5_rules(encoder: Any) -> TokenRules:
    """ComfyUI's UMT5XXlTokenizer settings, with the tokenizer the encoder's file carried."""
    tokenizer = encoder.inkgraph_tokenizer
    return TokenRules(lambda: tokenizer, None, END, PAD, 99999999, False, None, "umt5xxl")


def encode_umt5(encoder: Any, text: str, layer: int | None, context: EncodeRequest | None) -> torch.Tensor:
    """[1, max(512, tokens), width]: the prompt's states, then zeros."""
    rules = umt5_rules(encoder)
    chunks = chunks_for(encoder, text, rules, context)
    reading = Reading().at(layer, depth(encoder))
    states = []
    for chunk in chunks:
        vectors = {(0, i): t for i, (t, _) in enumerate(chunk) if isinstance(t, torch.Tensor)}
        ids = torch.tensor([[0 if isinstance(t, torch.Tensor) else t for t, _ in chunk]], dtype=torch.long)
        hidden, _ = run(encoder, reading, ids, vectors)
        weights = torch.tensor([w for _, w in chunk], dtype=hidden.dtype)[None, :, None]
        if bool((weights != 1.0).any()):
            empty, _ = run(encoder, reading, torch.tensor([[END]], dtype=torch.long))
            baseline = torch.zeros_like(hidden)
            baseline[:, :1] = empty
            hidden = (hidden - baseline) * weights + baseline
        states.append(hidden)
    out = torch.cat(states, dim=1)
    return F.pad(out, (0, 0, 0, max(0, MIN_LENGTH - out.shape[1])))


class Wan(PromptRecipe):
    name = "wan"
    slots = ("umt5xxl",)
    required = ("umt5xxl",)

    def encode(self, encoders: dict[str, Any], text: str, layer: int | None, context: EncodeRequest
               ) -> list[list[Any]]:
        return [[encode_umt5(encoders["umt5xxl"], text, layer, context), {}]]
