"""CLIPLoader type ``flux`` (DualCLIPLoader: CLIP-L + T5-XXL), as ComfyUI's FluxClipModel: the T5 states
(prompt padded to at least 256 tokens) are the context; CLIP-L gives the pooled output, unprojected."""

from __future__ import annotations

from typing import Any

from .base import EncodeRequest, PromptRecipe
from .prompt import Reading, encode_text
from .t5 import t5_rules

T5_MIN_LENGTH = 256


class Flux(PromptRecipe):
    name = "flux"
    slots = ("clip_l", "t5xxl")
    required = ("clip_l", "t5xxl")

    def encode(self, encoders: dict[str, Any], text: str, layer: int | None, context: EncodeRequest
               ) -> list[list[Any]]:
        return self.encode_texts(encoders, {"clip_l": text, "t5xxl": text}, layer, context)

    def encode_texts(self, encoders: dict[str, Any], texts: dict[str, str], layer: int | None,
                     context: EncodeRequest) -> list[list[Any]]:
        from ..text import clip_rules

        states, _ = encode_text(encoders["t5xxl"], texts.get("t5xxl", ""), t5_rules(T5_MIN_LENGTH), Reading(),
                                layer, context)
        _, pooled = encode_text(encoders["clip_l"], texts.get("clip_l", ""), clip_rules(),
                                Reading(pooled="unprojected"),
                                layer, context)
        return [[states, {"pooled_output": pooled}]]
