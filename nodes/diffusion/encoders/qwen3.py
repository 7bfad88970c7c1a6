"""Qwen3 text encoders as transformers' Qwen3Model: Qwen3-4B, Z-Image's (``qwen_3_4b.safetensors``,
``qwen_3_4b_fp8_mixed.safetensors``) and Flux.2 klein 4B's; Qwen3-8B, Flux.2 klein 9B's
(``qwen_3_8b_fp8mixed.safetensors``).

ComfyUI's repackaged files hold the language model's ``model.`` keys (``model.layers.N.self_attn.q_proj``,
``model.embed_tokens``, ``model.norm``), an LM head or not; fp16/bf16, fp8, scaled-fp8 and per-layer fp8
("fp8mixed") files all load (the scales are applied to the linear layers). Qwen3 is told from other decoders
by its per-head q/k norms; the kind follows ComfyUI's rule by width (``detect_te_model``: 2560 → 4B; 1024,
2048 and 4096 are Qwen3-0.6B, -2B and -8B, other kinds; 4096 is :class:`Qwen3_8B`). Widths ComfyUI does not
know (tiny test models) count as 4B. rope θ (10⁶) and the norm ε (10⁻⁶) are Qwen3's, not readable from the tensors.

The tokenizer is Qwen2.5's byte-level BPE (Qwen3 shares it), shipped in ``configs/qwen25_tokenizer``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import torch

from ..state_dict import TensorIndex
from .base import EncoderDetected, EncoderKind
from .llm import decoder_shapes, decoder_state

TOKENIZER_DIR = Path(__file__).resolve().parent.parent / "configs" / "qwen25_tokenizer"
PAD = 151643  # <|endoftext|>
OTHER_WIDTHS = {1024: "qwen3_06b", 2048: "qwen3_2b", 4096: "qwen3_8b"}  # ComfyUI's other Qwen3 kinds
WIDTH_8B = 4096
QWEN3: dict[str, Any] = {"rope_theta": 1_000_000.0, "rms_norm_eps": 1e-6, "max_position_embeddings": 40960,
         "hidden_act": "silu", "attention_bias": False, "tie_word_embeddings": False}


def read_config(index: TensorIndex, prefix: str) -> dict[str, Any] | None:
    """Qwen3Config fields of the decoder under ``prefix`` (None: not a Qwen3 there)."""
    if index.shape(prefix + "model.layers.0.self_attn.q_norm.weight") is None:
        return None
    if index.shape(prefix + "model.layers.0.post_feedforward_layernorm.weight") is not None:
        return None  # Gemma 3 has q/k norms too
    return decoder_shapes(index, prefix)


class Qwen3_4B(EncoderKind):  # noqa: N801 (ComfyUI's name)
    """Qwen3-4B (2560 wide, 36 layers, 32 heads, 8 key/value heads in the real file)."""

    name: ClassVar[str] = "qwen3_4b"

    def detect(self, index: TensorIndex, prefix: str = "") -> EncoderDetected | None:
        config = read_config(index, prefix)
        if config is None or config["hidden_size"] in OTHER_WIDTHS:
            return None
        return EncoderDetected(self, prefix, config)

    def build(self, tensors: dict[str, torch.Tensor], detected: EncoderDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from transformers import Qwen3Config, Qwen3Model

        from ..weights import apply_scales, assemble

        config: Any = Qwen3Config(**detected.config, **QWEN3, use_cache=False)
        model = assemble(Qwen3Model, config, decoder_state(tensors), dtype, "Qwen3 text encoder", detected.source)
        if detected.scales:
            apply_scales(model, decoder_state(detected.scales))
        return model  # type: ignore[no-any-return]

    def tokenizer(self) -> Any:
        return qwen_tokenizer()

    def recipe_for(self, clip_type: str) -> str | None:
        """ComfyUI: a Qwen3-4B file is Flux.2 klein's encoder for types flux and flux2, Z-Image's for any other."""
        return "flux2" if clip_type in ("flux", "flux2") else "lumina2"


class Qwen3_8B(Qwen3_4B):  # noqa: N801 (ComfyUI's name)
    """Qwen3-8B (4096 wide, 36 layers, 32 heads, 8 key/value heads), Flux.2 klein 9B's encoder
    (``qwen_3_8b_fp8mixed.safetensors``). Told from Qwen3-4B by its width alone, as ComfyUI does."""

    name: ClassVar[str] = "qwen3_8b"

    def detect(self, index: TensorIndex, prefix: str = "") -> EncoderDetected | None:
        config = read_config(index, prefix)
        if config is None or config["hidden_size"] != WIDTH_8B:
            return None
        return EncoderDetected(self, prefix, config)

    def recipe_for(self, clip_type: str) -> str | None:
        """ComfyUI: a Qwen3-8B file is Flux.2 klein's encoder (but for Ideogram 4's type, not in Inkgraph)."""
        return "flux2"


@cache
def qwen_tokenizer() -> Any:
    """Qwen2.5's tokenizer (Qwen3's too), from the vocabulary and merges shipped in the package."""
    from transformers import Qwen2Tokenizer

    return Qwen2Tokenizer.from_pretrained(str(TOKENIZER_DIR), local_files_only=True)


def qwen_rules(embedding_key: str = "qwen3_4b", weights: bool = False) -> Any:
    """ComfyUI's Qwen3 tokenizer settings: no start or end token, no chunks, padded with ``<|endoftext|>``
    to one token at least; Z-Image reads the prompt without emphasis."""
    from .prompt import TokenRules

    return TokenRules(qwen_tokenizer, None, None, PAD, 99999999, False, 1, embedding_key, weights=weights)
