"""CLIPLoader type ``sd3``: any of CLIP-L, bigG and T5-XXL (CLIPLoader one, DualCLIPLoader two,
TripleCLIPLoader three), as ComfyUI's SD3ClipModel.

CLIP-L and bigG read their penultimate layer without the final norm; their states are joined along the
width (a missing one is zero-filled: 768 for L, 1280 for G) and padded with zeros to T5's width (4096);
T5's states (padded to at least 77 tokens) follow along the token axis. The pooled output is L's
(unprojected) beside G's (projected), zeros for a missing one. With no encoder output at all the context
is 77 zero tokens.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from .base import EncodeRequest, PromptRecipe
from .prompt import Reading, chunks_for, depth, encode, tokenize
from .t5 import t5_rules

L_WIDTH, G_WIDTH, T5_WIDTH = 768, 1280, 4096
T5_MIN_LENGTH = 77
READINGS = {"clip_l": Reading(-2, False, "unprojected"), "clip_g": Reading(-2, False, "projected"),
            "t5xxl": Reading()}


def _rules(slot: str) -> Any:
    from ..text import END, clip_rules

    if slot == "t5xxl":
        return t5_rules(T5_MIN_LENGTH)
    return clip_rules(END, "clip_l") if slot == "clip_l" else clip_rules(0, "clip_g")


class SD3(PromptRecipe):
    name = "sd3"
    slots = ("clip_l", "clip_g", "t5xxl")

    def check(self, slots: list[str], source: str = "") -> None:
        super().check(slots, source)
        if not slots:
            raise ValueError(f"{source + ': ' if source else ''}type 'sd3' needs CLIP-L, bigG or T5-XXL")

    def encode(self, encoders: dict[str, Any], text: str, layer: int | None, context: EncodeRequest
               ) -> list[list[Any]]:
        return self.encode_texts(encoders, {slot: text for slot in self.slots}, layer, context)

    def encode_texts(self, encoders: dict[str, Any], texts: dict[str, str], layer: int | None,
                     context: EncodeRequest) -> list[list[Any]]:
        """``context.options["empty_padding"] == "none"`` (CLIPTextEncodeSD3): an empty text gives no tokens
        instead of the empty prompt; CLIP-L and bigG are then given empty-prompt chunks until they have as
        many as each other."""
        no_padding = context.options.get("empty_padding", "empty_prompt") == "none"
        rules = {slot: _rules(slot).configured(context.options) for slot in self.slots}
        chunks: dict[str, list[Any]] = {}
        for slot in self.slots:
            text = texts.get(slot, "")
            encoder = encoders.get(slot)
            if no_padding and not text:
                chunks[slot] = []
            elif encoder is not None:
                chunks[slot] = chunks_for(encoder, text, rules[slot], context)
            else:  # a missing encoder's tokens still count (ComfyUI tokenizes for all three)
                chunks[slot] = tokenize(text, rules[slot])
        if len(chunks["clip_l"]) != len(chunks["clip_g"]):
            for slot, other in (("clip_l", "clip_g"), ("clip_g", "clip_l")):
                while len(chunks[slot]) < len(chunks[other]):
                    chunks[slot].append(_empty_chunk(slot))

        def run(slot: str) -> tuple[torch.Tensor, torch.Tensor | None]:
            encoder = encoders[slot]
            return encode(encoder, READINGS[slot].at(layer, depth(encoder)), chunks[slot], rules[slot])

        t5 = encoders.get("t5xxl")
        width = int(t5.config.d_model) if t5 is not None else T5_WIDTH
        context_states: torch.Tensor | None = None
        pooled = None
        if chunks["clip_l"] or chunks["clip_g"]:
            lg = None
            l_pooled: torch.Tensor | None
            if "clip_l" in encoders:
                lg, l_pooled = run("clip_l")
            else:
                l_pooled = torch.zeros(1, L_WIDTH)
            if "clip_g" in encoders:
                g_states, g_pooled = run("clip_g")
                lg = torch.cat([lg, g_states], dim=-1) if lg is not None else F.pad(g_states, (L_WIDTH, 0))
            else:
                g_pooled = torch.zeros(1, G_WIDTH)
            if lg is not None:
                context_states = F.pad(lg, (0, width - lg.shape[-1]))
            pooled = torch.cat([l_pooled, g_pooled], dim=-1)
        if t5 is not None:
            t5_states, _ = run("t5xxl")
            context_states = t5_states if context_states is None else torch.cat([context_states, t5_states], dim=-2)
        if context_states is None:
            context_states = torch.zeros(1, 77, width)
        if pooled is None:
            pooled = torch.zeros(1, L_WIDTH + G_WIDTH)
        return [[context_states, {"pooled_output": pooled}]]


def _empty_chunk(slot: str) -> list[tuple[int, float]]:
    from ..text import MAX_LENGTH

    return [(token, 1.0) for token in _rules(slot).empty(MAX_LENGTH)]
