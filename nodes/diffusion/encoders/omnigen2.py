"""CLIPLoader type ``omnigen2`` (Qwen2.5-VL 3B), as ComfyUI's Omnigen2Tokenizer and Omnigen2Model.

The prompt goes into OmniGen2's chat template — a system turn asking for high-quality images, then the
user's turn holding the prompt, closed by ``<|im_end|>\\n`` (no assistant opening) — and is tokenized with
emphasis read (ComfyUI does not disable weights here): no start or end token, no chunks, padded with
``<|endoftext|>`` to one token at least. The states are the last layer's output with the final norm
(ComfyUI's ``layer="last"``), the whole sequence kept (the template included), with the prompt's
attention mask. CLIPSetLastLayer reads an earlier layer without the norm. Only the language model runs:
OmniGen2 does not show the encoder images.

ComfyUI reads any Qwen2.5-VL file given this type as its 3B model; here the file's kind is whichever
Qwen2.5-VL it is (the 3B's 2,048 width, or another for test models).
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import EncodeRequest, PromptRecipe
from .llm import encode_text
from .prompt import Reading

TEMPLATE = ("<|im_start|>system\nYou are a helpful assistant that generates high-quality images based on user "
            "instructions.<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n")
LAST = Reading(-1, True)  # ComfyUI's layer="last": the normed last output
HIDDEN = Reading(-1, False)  # CLIPSetLastLayer's layers: their own output (layer_norm_hidden_state=False)


def omnigen2_prompt(text: str, template: str | None = None) -> str:
    """The text the model reads for a prompt (a node may pass its own ``llama_template``)."""
    return (template or TEMPLATE).format(text)


class OmniGen2(PromptRecipe):
    name: ClassVar[str] = "omnigen2"
    slots: ClassVar[tuple[str, ...]] = ("qwen25_3b", "qwen25_7b")

    def check(self, slots: list[str], source: str = "") -> None:
        super().check(slots, source)
        if len(slots) != 1:
            where = f"{source}: " if source else ""
            raise ValueError(f"{where}type 'omnigen2' takes one Qwen2.5-VL text encoder; found "
                             f"{', '.join(slots) or 'none'}")

    def encode(self, encoders: dict[str, Any], text: str, layer: int | None, context: EncodeRequest
               ) -> list[list[Any]]:
        from .qwen3 import qwen_rules

        (module,) = encoders.values()
        language = getattr(module, "language_model", module)  # a file with the vision tower: its text model
        states, mask = encode_text(language, omnigen2_prompt(text, context.options.get("llama_template")),
                                   qwen_rules("qwen25_3b", weights=True), LAST if layer is None else HIDDEN,
                                   layer, context)
        return [[states, {"attention_mask": mask}]]
