"""CLIPLoader type ``chroma`` (T5-XXL alone), as ComfyUI's PixArt/Chroma text encoder: the prompt is not
padded (its tokens and ``</s>``), so the model needs no attention mask over padding; emphasis is measured
against an empty prompt of padding tokens only. No pooled output."""

from __future__ import annotations

from typing import Any

from .base import EncodeRequest, PromptRecipe
from .prompt import Reading, encode_text
from .t5 import t5_rules


class Chroma(PromptRecipe):
    name = "chroma"
    slots = ("t5xxl",)
    required = ("t5xxl",)

    def encode(self, encoders: dict[str, Any], text: str, layer: int | None, context: EncodeRequest
               ) -> list[list[Any]]:
        states, _ = encode_text(encoders["t5xxl"], text, t5_rules(1, empty_has_end=False), Reading(), layer, context)
        return [[states, {}]]
