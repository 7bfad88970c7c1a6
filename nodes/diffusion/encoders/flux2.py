"""CLIPLoader type ``flux2``: one language model, as ComfyUI encodes for Flux.2 (``comfy/text_encoders/flux.py``).

- **Mistral 3 Small 24B → Flux.2 dev** (``Flux2Tokenizer``, ``Mistral3_24BModel``): the prompt in Flux.2's
  system template, ``[SYSTEM_PROMPT]{system}[/SYSTEM_PROMPT][INST]{prompt}[/INST]`` after ``<s>``, read as
  literal text (no emphasis); padding (``<pad>``, only up to one token) would go in front, and the model's
  attention mask treats id 0 as its padding, so every token is attended.
- **Qwen3-4B / Qwen3-8B → Flux.2 klein** (``KleinTokenizer``, ``Qwen3_4BModel``/``Qwen3_8BModel``): Qwen's chat
  template with an empty thinking block, ``<|im_start|>user\\n{prompt}<|im_end|>\\n<|im_start|>assistant\\n
  <think>\\n\\n</think>\\n\\n``, literal text, padded with ``<|endoftext|>`` to 512 tokens (masked).

The states are three layers side by side per token (what enters layers 10, 20 and 30 of Mistral; 9, 18 and 27
of Qwen3 — each an earlier layer's output without the final norm), so [1, T, 3·width]: 15360, 7680 or 12288
wide, the model's ``txt_in``. CLIPSetLastLayer does not change them (ComfyUI ignores it for a list of layers).
The conditioning carries the prompt's ``attention_mask``; the model does not use it (``families/flux2.py``
pads the text to 512 tokens with zeros in front instead). ComfyUI picks this recipe from the file itself
(Mistral and Qwen3-8B for any type, Qwen3-4B for types flux and flux2), as ``loading`` does here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import EncodeRequest, PromptRecipe
from .llm import encode_text

SYSTEM = ("You are an AI that reasons about image descriptions. You give structured responses focusing on object "
          "relationships, object\nattribution and actions without speculation.")
MISTRAL_TEMPLATE = "[SYSTEM_PROMPT]" + SYSTEM + "[/SYSTEM_PROMPT][INST]{}[/INST]"
KLEIN_TEMPLATE = "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
MISTRAL_LAYERS = (10, 20, 30)
KLEIN_LAYERS = (9, 18, 27)
KLEIN_MIN_LENGTH = 512
MISTRAL_START, MISTRAL_PAD, MISTRAL_MASK_PAD = 1, 11, 0  # <s>, <pad>; the model's own padding id is 0 (<unk>)


class Flux2(PromptRecipe):
    name: ClassVar[str] = "flux2"
    slots: ClassVar[tuple[str, ...]] = ("mistral3_24b", "qwen3_4b", "qwen3_8b")

    def check(self, slots: list[str], source: str = "") -> None:
        super().check(slots, source)
        if len(slots) != 1:
            where = f"{source}: " if source else ""
            raise ValueError(f"{where}type 'flux2' takes one text encoder (Mistral 3 Small, Qwen3-4B or Qwen3-8B); "
                             f"found {', '.join(slots) or 'none'}")

    def encode(self, encoders: dict[str, Any], text: str, layer: int | None, context: EncodeRequest
               ) -> list[list[Any]]:
        (slot, encoder), = encoders.items()
        if slot == "mistral3_24b":
            states, mask = encode_text(encoder, mistral_prompt(text), mistral_rules(encoder.inkgraph_tokenizer),
                                       MISTRAL_LAYERS, layer, context)
        else:
            states, mask = encode_text(encoder, klein_prompt(text), klein_rules(slot), KLEIN_LAYERS, layer, context)
        return [[states, {"attention_mask": mask}]]


def mistral_prompt(text: str) -> str:
    """Flux.2's system template around a prompt (ComfyUI's Flux2Tokenizer.llama_template)."""
    return MISTRAL_TEMPLATE.format(text)


def klein_prompt(text: str) -> str:
    """Flux.2 klein's chat template around a prompt (ComfyUI's KleinTokenizer.llama_template)."""
    return KLEIN_TEMPLATE.format(text)


def mistral_rules(tokenizer: Any) -> Any:
    """ComfyUI's Mistral3Tokenizer: ``<s>`` first, no end token, no chunks, padded in front with ``<pad>`` to one
    token at least, literal text; the model masks its own padding id, 0."""
    from .prompt import TokenRules

    return TokenRules(lambda: tokenizer, MISTRAL_START, None, MISTRAL_PAD, 99999999, False, 1, "mistral3_24b",
                      weights=False, pad_left=True, mask_pad=MISTRAL_MASK_PAD)


def klein_rules(slot: str) -> Any:
    """ComfyUI's Qwen3Tokenizer/Qwen3Tokenizer8B for klein: Qwen3's rules, padded to 512 tokens."""
    from dataclasses import replace

    from .qwen3 import qwen_rules

    return replace(qwen_rules(slot), min_length=KLEIN_MIN_LENGTH)
