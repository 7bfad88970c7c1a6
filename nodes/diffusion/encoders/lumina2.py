"""CLIPLoader type ``lumina2``: one language model, as ComfyUI encodes for the Lumina 2 architecture.

- **Qwen3-4B → Z-Image** (``comfy/text_encoders/z_image.py``): the prompt is put in Qwen's chat template,
  ``<|im_start|>user\\n{prompt}<|im_end|>\\n<|im_start|>assistant\\n``, and read as literal text (no
  emphasis: ``(word:1.2)`` stays characters); the states are the penultimate decoder layer's output
  without the final norm.
- **Gemma 2 2B → Lumina 2 / NetaYume** (``comfy/text_encoders/lumina2.py``): the prompt as written after
  ``<bos>``, emphasis read; the penultimate layer without the final norm. The system prompt Lumina 2 was
  trained with is the node's business (CLIPTextEncodeLumina2 writes ``{system} <Prompt Start> {prompt}``;
  NetaYume's template writes it into the text itself).

Both give the conditioning ComfyUI gives: the states [1, T, D] (no padding) and the prompt's
``attention_mask``. ComfyUI picks these encoders from the file itself for most CLIPLoader types
(``loading.single_file_recipe``), as here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import EncodeRequest, GenerateRequest, PromptRecipe
from .llm import READING, encode_text

Z_IMAGE_TEMPLATE = "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"
QWEN3_STOP = (151643, 151645)  # <|endoftext|>, <|im_end|> (ComfyUI's Qwen3_4BConfig.stop_tokens)
GEMMA_STOP = (1,)  # <eos> (ComfyUI's Gemma2_2B_Config.stop_tokens)


class Lumina2(PromptRecipe):
    name: ClassVar[str] = "lumina2"
    slots: ClassVar[tuple[str, ...]] = ("gemma2_2b", "qwen3_4b")

    def check(self, slots: list[str], source: str = "") -> None:
        super().check(slots, source)
        if len(slots) != 1:
            where = f"{source}: " if source else ""
            raise ValueError(f"{where}type 'lumina2' takes one text encoder (Gemma 2 2B or Qwen3-4B); found "
                             f"{', '.join(slots) or 'none'}")

    def encode(self, encoders: dict[str, Any], text: str, layer: int | None, context: EncodeRequest
               ) -> list[list[Any]]:
        if "qwen3_4b" in encoders:
            from .qwen3 import qwen_rules

            states, mask = encode_text(encoders["qwen3_4b"], z_image_prompt(text), qwen_rules(), READING, layer,
                                       context)
        else:
            from .gemma2 import gemma_rules

            encoder = encoders["gemma2_2b"]
            states, mask = encode_text(encoder, text, gemma_rules(encoder.inkgraph_tokenizer), READING, layer,
                                       context)
        return [[states, {"attention_mask": mask}]]


    def generation_prompt(self, encoders: dict[str, Any], text: str, request: GenerateRequest) -> Any:
        """As ComfyUI's tokenizers of this type: Qwen3-4B's ZImageTokenizer always puts the prompt in Z-Image's
        chat template (it takes no thinking switch, system prompt or ``skip_template``); Gemma 2's tokenizer
        reads the prompt after ``<bos>``, its emphasis parsed away. Neither reads images, video or audio."""
        from .generate import GenerationPrompt
        from .prompt import tokenize

        if "qwen3_4b" in encoders:
            from .qwen3 import qwen_rules, qwen_tokenizer

            (chunk,) = tokenize(z_image_prompt(text), qwen_rules())
            tokenizer = qwen_tokenizer()
            return GenerationPrompt("qwen3_4b", [int(t) for t, _ in chunk], QWEN3_STOP,
                                    lambda ids: str(tokenizer.decode(ids, skip_special_tokens=True)))
        from .gemma2 import gemma_rules

        encoder = encoders["gemma2_2b"]
        (chunk,) = tokenize(text, gemma_rules(encoder.inkgraph_tokenizer))
        return GenerationPrompt("gemma2_2b", [int(t) for t, _ in chunk], GEMMA_STOP,
                                encoder.inkgraph_tokenizer.decode)


def z_image_prompt(text: str) -> str:
    """Z-Image's chat template around a prompt (ComfyUI's ZImageTokenizer.llama_template)."""
    return Z_IMAGE_TEMPLATE.format(text)
