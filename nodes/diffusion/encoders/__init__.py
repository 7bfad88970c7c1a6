"""Text-encoder kinds (files) and prompt recipes (CLIPLoader types); see :mod:`.base`.

Adding an encoder kind or a recipe is one module here and one line in :data:`KINDS` or :data:`RECIPES`.
"""

from __future__ import annotations

from .base import Encoded, EncoderDetected, EncodeRequest, EncoderKind, PromptRecipe
from .byt5 import ByT5Small
from .chroma import Chroma
from .clip import ClipG, ClipH, ClipL
from .flux import Flux
from .flux2 import Flux2
from .gemma2 import Gemma2_2B
from .hidream import HiDream
from .hunyuan_video import HunyuanVideo15
from .llama3 import Llama3_8B
from .ltxv import LTXV
from .lumina2 import Lumina2
from .mistral3 import Mistral3_24B
from .omnigen2 import OmniGen2
from .qwen3 import Qwen3_4B, Qwen3_8B
from .qwen_image import QwenImage
from .qwen_vl import Qwen25VL, Qwen25VL3B
from .sd import SDXL, StableDiffusion
from .sd3 import SD3
from .t5 import T5XXL
from .umt5 import UMT5XXL
from .wan import Wan

KINDS: list[EncoderKind] = [ClipG(), ClipH(), ClipL(), UMT5XXL(), ByT5Small(), T5XXL(), Qwen3_4B(), Qwen3_8B(),
                            Gemma2_2B(), Qwen25VL(), Qwen25VL3B(), Mistral3_24B(), Llama3_8B()]
RECIPES: dict[str, PromptRecipe] = {recipe.name: recipe for recipe in (
    StableDiffusion(), SDXL(), SD3(), Flux(), Chroma(), QwenImage(), Wan(), Lumina2(), HunyuanVideo15(), LTXV(),
    Flux2(),
    HiDream(), OmniGen2())}

__all__ = ["KINDS", "RECIPES", "EncodeRequest", "Encoded", "EncoderDetected", "EncoderKind", "PromptRecipe",
           "recipe"]


def recipe(name: str) -> PromptRecipe:
    """The recipe of a CLIPLoader type; a clear error for ComfyUI types Inkgraph does not encode yet."""
    found = RECIPES.get(name)
    if found is None:
        raise ValueError(f"CLIP type {name!r} is not supported yet; supported: {', '.join(RECIPES)}")
    return found
