"""CLIPLoader type ``qwen_image`` (Qwen2.5-VL 7B), as ComfyUI's QwenImageTokenizer and QwenImageTEModel.

The prompt goes into Qwen-Image's chat template — the system message that asks for a detailed description,
or, when images come with it (TextEncodeQwenImageEdit), the Edit model's system message and a
``<|vision_start|><|image_pad|><|vision_end|>`` before the text; TextEncodeQwenImageEditPlus passes its own
template and "Picture N: …" prefixes. A prompt that already starts with ``<|im_start|>`` (or Llama's
``<|start_header_id|>``) is taken as it is. Weights like ``(word:1.2)`` are not parsed: the text reaches
the model verbatim (ComfyUI tokenizes it with weights disabled).

The last layer (with the final norm) is read, and the template's opening is dropped: the states start
after the second ``<|im_start|>`` and its ``user\\n`` (34 tokens for the text template, as diffusers'
pipeline drops), so the model sees the user's turn and the assistant's opening. No pooled output; no
attention mask (one prompt has no padding).
"""

from __future__ import annotations

from typing import Any

from .base import EncodeRequest, GenerateRequest, PromptRecipe
from .qwen_vl import model_inputs, qwen_tokenizer, run

TEMPLATE = ("<|im_start|>system\nDescribe the image by detailing the color, shape, size, texture, quantity, text, "
            "spatial relationships of the objects and background:<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n"
            "<|im_start|>assistant\n")
EDIT_SYSTEM = ("<|im_start|>system\nDescribe the key features of the input image (color, shape, size, texture, "
               "objects, background), then explain how the user's text instruction should alter or modify the "
               "image. Generate a new image that meets the user's requirements while maintaining consistency with "
               "the original input where appropriate.<|im_end|>\n<|im_start|>user\n")
TEMPLATE_IMAGES = EDIT_SYSTEM + "<|vision_start|><|image_pad|><|vision_end|>{}<|im_end|>\n<|im_start|>assistant\n"
TEMPLATE_EDIT_PLUS = EDIT_SYSTEM + "{}<|im_end|>\n<|im_start|>assistant\n"
IM_START, USER, NEWLINE = 151644, 872, 198
VISION_BLOCK = "<|vision_start|><|image_pad|><|vision_end|>"
STOP = (151643, 151645)  # <|endoftext|>, <|im_end|>


def templated(text: str, images: int = 0, template: str | None = None) -> str:
    """The text the model reads for a prompt (ComfyUI's choice of template)."""
    if text.startswith(("<|im_start|>", "<|start_header_id|>")):
        return text
    if template is None:
        template = TEMPLATE_IMAGES if images else TEMPLATE
    return template.format(text)


def token_ids(text: str, images: int = 0, template: str | None = None) -> list[int]:
    """The prompt's token ids (one ``<|image_pad|>`` per image, expanded when the model runs)."""
    return list(qwen_tokenizer()(templated(text, images, template), add_special_tokens=False)["input_ids"])


def template_end(ids: list[int]) -> int:
    """Where the kept states start: at the second ``<|im_start|>``, past its ``user\\n`` (ComfyUI's rule)."""
    end = -1
    starts = 0
    for i, token in enumerate(ids):
        if token == IM_START and starts < 2:
            end = i
            starts += 1
    if len(ids) > end + 3 and ids[end + 1] == USER and ids[end + 2] == NEWLINE:
        end += 3
    return max(end, 0)


class QwenImage(PromptRecipe):
    name = "qwen_image"
    slots = ("qwen25_7b",)
    required = ("qwen25_7b",)

    def encode(self, encoders: dict[str, Any], text: str, layer: int | None, context: EncodeRequest
               ) -> list[list[Any]]:
        images = list(context.options.get("images") or ())
        ids = token_ids(text, len(images), context.options.get("llama_template"))
        end = template_end(ids)
        hidden = run(encoders["qwen25_7b"], ids, images)
        return [[hidden[:, end:], {}]]  # the index counts tokens, as ComfyUI's (images come after it)

    def generation_prompt(self, encoders: dict[str, Any], text: str, request: GenerateRequest) -> Any:
        """As ComfyUI's QwenImageTokenizer for TextGenerate: a plain chat (the system prompt given, if any; the
        user's turn with one vision block per image before the text; the assistant's opening); with the
        template off, or a prompt already starting with ``<|im_start|>``, the text as written with vision
        blocks added for images it has no ``<|image_pad|>`` for. No video or audio; unseeded sampling uses 42."""
        from .generate import GenerationPrompt

        if request.video is not None or request.audio is not None:
            raise ValueError("Qwen 2.5-VL TextGenerate does not support video or audio inputs")
        images = list(request.images)
        if not request.use_default_template or text.startswith(("<|im_start|>", "<|start_header_id|>")):
            chat = with_image_placeholders(text, len(images))
        else:
            system = f"<|im_start|>system\n{request.system_prompt}<|im_end|>\n" if request.system_prompt else ""
            chat = f"{system}<|im_start|>user\n{VISION_BLOCK * len(images)}{text}<|im_end|>\n<|im_start|>assistant\n"
        tokenizer = qwen_tokenizer()
        ids = list(tokenizer(chat, add_special_tokens=False)["input_ids"]) or [STOP[0]]
        return GenerationPrompt("qwen25_7b", ids, STOP,
                                lambda out: str(tokenizer.decode(out, skip_special_tokens=True)),
                                images=images, default_seed=42,
                                prefill=lambda model, prompt_ids, pictures: model_inputs(model, prompt_ids, pictures))


def with_image_placeholders(text: str, count: int) -> str:
    """``text`` with a vision block for every image it has no ``<|image_pad|>`` for: after its last vision
    block, else at the start of the user's turn, else in front (ComfyUI's ``_ensure_image_placeholders``)."""
    present = text.count("<|image_pad|>")
    if present > count:
        raise ValueError("Qwen prompt has more image placeholders than supplied images")
    missing = count - present
    if missing <= 0:
        return text
    blocks = VISION_BLOCK * missing
    if VISION_BLOCK in text:
        at = text.index(VISION_BLOCK) + len(VISION_BLOCK)
    elif "<|im_start|>user\n" in text:
        at = text.index("<|im_start|>user\n") + len("<|im_start|>user\n")
    else:
        return blocks + text
    return text[:at] + blocks + text[at:]
