"""Text encoders as files and as prompts: what kind of encoder a file holds, and how a model family turns
a prompt into CONDITIONING with the encoders it takes.

Two registries, one module per entry:

- :class:`EncoderKind` — one kind of text-encoder file (CLIP-L, CLIP-G, T5-XXL, Qwen3-4B …): recognised
  from its keys and shapes in any of the layouts users download (ComfyUI's repackaged single files,
  the same keys under an all-in-one checkpoint's ``text_encoders.<slot>.transformer.`` prefix, fp16,
  fp8 and scaled fp8), its architecture read from the tensors, built as a transformers module with the
  tokenizer shipped in the package.
- :class:`PromptRecipe` — one value of CLIPLoader's ``type`` (ComfyUI's CLIPType: stable_diffusion, sdxl,
  sd3, flux, lumina2 …): which encoder slots it takes and how a prompt becomes CONDITIONING with them (the
  model's own prompt template, the hidden layer it reads, padding, pooled output).

A CLIP handle holds a recipe name and one loaded encoder per slot; CLIPTextEncode asks the recipe.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from ..state_dict import TensorIndex


@dataclass
class EncoderDetected:
    """An encoder kind's reading of a file: where its keys are and its architecture (a transformers config)."""

    kind: EncoderKind
    prefix: str  # what precedes the encoder's own keys ("" for a repackaged single file)
    config: dict[str, Any]
    source: str = ""  # the file's name, for messages
    folder: Path | None = None  # the folder of the file being loaded (kinds whose tokenizer may lie beside it)
    scales: dict[str, torch.Tensor] = field(default_factory=dict)  # scaled-fp8 weight scales by module name
    # keys outside the prefix the kind also needs (Gemma's tokenizer, ``spiece_model``, stored beside the
    # weights); ``build`` finds them under their full names
    also_read: tuple[str, ...] = ()


class EncoderKind(ABC):
    """One kind of text-encoder file."""

    name: ClassVar[str]  # "clip_l", "clip_g", "clip_h", "t5xxl", "qwen3_4b" … (ComfyUI's slot names)

    @abstractmethod
    def detect(self, index: TensorIndex, prefix: str = "") -> EncoderDetected | None:
        """This kind's reading of the keys under ``prefix``, or None when they are not this kind's."""

    @abstractmethod
    def build(self, tensors: dict[str, torch.Tensor], detected: EncoderDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        """The encoder with its weights (``tensors`` without the prefix)."""

    @abstractmethod
    def tokenizer(self) -> Any:
        """The tokenizer shipped in the package for this kind (loaded once)."""

    def recipe_for(self, clip_type: str) -> str | None:
        """The recipe a file holding only this encoder gets when CLIPLoader asks for ``clip_type``: ComfyUI
        picks it from the encoder for some kinds (a Qwen3-4B file is Z-Image's unless the type is flux or
        flux2). None: the type's own recipe."""
        return None


@dataclass
class Encoded:
    """One encoder's output for a prompt: per-token states [1, T, D], the pooled output if it has one,
    and anything else the recipe reads (attention mask, …)."""

    hidden: torch.Tensor
    pooled: torch.Tensor | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class PromptRecipe(ABC):
    """One CLIPLoader ``type``: the encoder slots it takes and how it encodes a prompt."""

    name: ClassVar[str]  # ComfyUI's type name: "stable_diffusion", "sd3", "flux" …
    slots: ClassVar[tuple[str, ...]]  # encoder kinds it can use, in ComfyUI's order
    required: ClassVar[tuple[str, ...]] = ()  # those it cannot do without (the others may be absent)

    @abstractmethod
    def encode(self, encoders: dict[str, Any], text: str, layer: int | None, context: EncodeRequest
               ) -> list[list[Any]]:
        """CONDITIONING for ``text``: ``[[tensor [1, T, D], options]]``; ``encoders`` maps a slot to its loaded
        module (absent slots are missing); ``layer`` is CLIPSetLastLayer's value (None: the default)."""

    def encode_texts(self, encoders: dict[str, Any], texts: dict[str, str], layer: int | None,
                     context: EncodeRequest) -> list[list[Any]]:
        """CONDITIONING with a text per slot (CLIPTextEncodeSDXL/SD3/Flux give each encoder its own prompt);
        slots not in ``texts`` get the empty prompt. Recipes that take one prompt accept equal texts only."""
        distinct = set(texts.values())
        if len(distinct) > 1:
            raise ValueError(f"the {self.name} text encoder takes one prompt, not one per encoder")
        return self.encode(encoders, distinct.pop() if distinct else "", layer, context)

    def generation_prompt(self, encoders: dict[str, Any], text: str, request: GenerateRequest) -> Any:
        """TextGenerate's prompt for this type: a ``generate.GenerationPrompt`` (the generating slot, token ids
        with the chat template this type's ComfyUI tokenizer applies, stop tokens, decoding). Types whose
        encoders are not language models cannot generate."""
        raise ValueError(f"CLIP type {self.name!r} cannot generate text: its text encoders are not language "
                         "models that TextGenerate supports (Qwen3-4B, Gemma 2 2B, Qwen2.5-VL)")

    def check(self, slots: list[str], source: str = "") -> None:
        """A clear error when the loaded encoders cannot serve this recipe (a missing required slot, or
        one it does not take)."""
        where = f"{source}: " if source else ""
        foreign = [slot for slot in slots if slot not in self.slots]
        if foreign:
            raise ValueError(f"{where}type {self.name!r} takes {', '.join(self.slots)} text encoders; "
                             f"{', '.join(foreign)} found")
        missing = [slot for slot in self.required if slot not in slots]
        if missing:
            raise ValueError(f"{where}type {self.name!r} needs a {', '.join(missing)} text encoder; "
                             f"found {', '.join(slots) or 'none'}")


@dataclass
class GenerateRequest:
    """TextGenerate's inputs besides the prompt, as ComfyUI passes them to ``clip.tokenize``: images (one
    [1, H, W, C] picture each), video frames and audio, the thinking switch, whether the model's own template
    is used, and the system prompt that replaces the template's."""

    images: list[torch.Tensor] = field(default_factory=list)
    video: Any = None
    audio: Any = None
    thinking: bool = False
    use_default_template: bool = True
    system_prompt: str = ""


@dataclass
class EncodeRequest:
    """What a recipe may need besides the text: the folders (textual-inversion embeddings), where to report
    warnings, and options the encoding node passes (e.g. TextEncodeQwenImageEdit's images)."""

    folders: Any = None
    warnings: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
