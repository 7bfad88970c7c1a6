"""CLIPLoader/DualCLIPLoader type ``hunyuan_video_15``: Qwen2.5-VL 7B with ByT5-small for quoted text, as
ComfyUI's HunyuanVideo15Tokenizer over its HunyuanImage text encoder.

Qwen2.5-VL reads the prompt in HunyuanVideo 1.5's video-description chat template; the states are those of
the third layer from the end (ComfyUI's ``hidden`` layer −3, transformers' ``hidden_states[-3]``, without the
final norm — diffusers' pipeline reads the same), and the template's opening is dropped as for Qwen-Image
(from the second ``<|im_start|>`` past its ``user\\n``). The text is read verbatim (no ``(word:1.2)`` weights);
an empty prompt is read as one space (ComfyUI's ``prevent_empty_text``, as diffusers' pipeline does too).
The template is ComfyUI's: Tencent's system message with its five points on lines of their own (Tencent's
and diffusers' copies keep the source indentation between them instead).

When the prompt quotes text ("…", ‘…’ or “…”), the quoted pieces are joined as ``Text "piece". `` (ComfyUI's
order: every "…" first, then ‘…’, then “…”) and ByT5's states of that string go into the conditioning as
``conditioning_byt5small``, which the model's glyph stream reads. Without quotes, or without a ByT5 file,
there is no glyph input. One prompt has no padding, so no attention mask is given.
"""

from __future__ import annotations

import re
from typing import Any

from . import byt5
from .base import EncodeRequest, PromptRecipe
from .qwen_image import template_end
from .qwen_vl import qwen_tokenizer, run

TEMPLATE = ("<|im_start|>system\nYou are a helpful assistant. Describe the video by detailing the following aspects:\n"
            "1. The main content and theme of the video.\n"
            "2. The color, shape, size, texture, quantity, text, and spatial relationships of the objects.\n"
            "3. Actions, events, behaviors temporal relationships, physical movement changes of the objects.\n"
            "4. background environment, light, style and atmosphere.\n"
            "5. camera angles, movements, and transitions used in the video.<|im_end|>\n"
            "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n")
LAYER = -3
_QUOTES = (re.compile(r"\"(.*?)\""), re.compile(r"‘(.*?)’"), re.compile(r"“(.*?)”"))


def glyph_text(text: str) -> str | None:
    """What ByT5 reads for a prompt: its quoted pieces as ``Text "piece". `` each, or None without quotes."""
    pieces = [piece for pattern in _QUOTES for piece in pattern.findall(text)]
    if not pieces:
        return None
    return "".join(f'Text "{piece}". ' for piece in pieces)


def token_ids(text: str, template: str | None = None) -> list[int]:
    """The prompt's Qwen2.5-VL token ids in the template (a text already in a chat template is kept)."""
    if not text.startswith("<|im_start|>"):
        text = (template or TEMPLATE).format(text or " ")
    return list(qwen_tokenizer()(text, add_special_tokens=False)["input_ids"])


class HunyuanVideo15(PromptRecipe):
    name = "hunyuan_video_15"
    slots = ("qwen25_7b", "byt5_small")
    required = ("qwen25_7b",)

    def encode(self, encoders: dict[str, Any], text: str, layer: int | None, context: EncodeRequest
               ) -> list[list[Any]]:
        ids = token_ids(text, context.options.get("llama_template"))
        hidden = run(encoders["qwen25_7b"], ids, layers=(LAYER,))
        options: dict[str, Any] = {}
        glyphs = glyph_text(text)
        if glyphs is not None and "byt5_small" in encoders:
            options["conditioning_byt5small"] = byt5.encode(encoders["byt5_small"], glyphs)
        return [[hidden[:, template_end(ids):], options]]
