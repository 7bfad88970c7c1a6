"""Text-encoder kinds (files) and prompt recipes (CLIPLoader types); see :mod:`.base`.

Adding an encoder kind or a recipe is one module here and one line in :data:`KINDS` or :data:`RECIPES`.
"""

from __future__ import annotations

from .base import Encoded, EncoderDetected, EncodeRequest, EncoderKind, PromptRecipe

KINDS: list[EncoderKind] = []
RECIPES: dict[str, PromptRecipe] = {}

__all__ = ["KINDS", "RECIPES", "EncodeRequest", "Encoded", "EncoderDetected", "EncoderKind", "PromptRecipe"]
