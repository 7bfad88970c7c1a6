"""Gemma 2 2B, Lumina 2's and NetaYume's text encoder, as transformers' Gemma2Model.

Files: ComfyUI's ``gemma_2_2b_fp16.safetensors`` (``model.layers.N…``, ``model.embed_tokens``, ``model.norm``)
and the all-in-one Lumina 2 / NetaYume checkpoints (``text_encoders.gemma2_2b.transformer.model.…``), in
fp16/bf16, fp8 or scaled fp8. Gemma 2 is told from other decoders by its norms around the MLP
(``post_feedforward_layernorm``) and no q/k norms (Gemma 3 has them); the heads are 256 wide (Gemma 2 2B's,
as ComfyUI's config: the projections' rows alone cannot tell head width from head count).

Computed as ComfyUI's ``Gemma2_2B`` computes it: full attention in every layer (no sliding window) and no
soft-capping of the attention logits — transformers' defaults have both, which ComfyUI leaves out.

The tokenizer: Gemma's SentencePiece model is not shipped with Inkgraph (Google's Gemma Terms of Use cover
it, not a licence the package can carry). ComfyUI reads it from the model file itself — its Gemma files
store the serialized SentencePiece model as a uint8 tensor ``spiece_model`` beside the weights (``spiece_model``
in ``gemma_2_2b_fp16.safetensors``, ``text_encoders.spiece_model`` in all-in-one checkpoints) — and so does
this kind; a file without it is an error naming the file.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..state_dict import ModelFileError, TensorIndex
from .base import EncoderDetected, EncoderKind
from .llm import decoder_shapes, decoder_state

HEAD_DIM = 256
START, PAD = 2, 0  # <bos>, <pad>
TOKENIZER_KEY = "spiece_model"
GEMMA2: dict[str, Any] = {"rope_theta": 10_000.0, "rms_norm_eps": 1e-6, "max_position_embeddings": 8192,
          "hidden_activation": "gelu_pytorch_tanh", "attention_bias": False, "attn_logit_softcapping": None,
          "final_logit_softcapping": None, "query_pre_attn_scalar": HEAD_DIM}


def read_config(index: TensorIndex, prefix: str) -> dict[str, Any] | None:
    """Gemma2Config fields of the decoder under ``prefix`` (None: not a Gemma 2 there)."""
    if index.shape(prefix + "model.layers.0.post_feedforward_layernorm.weight") is None:
        return None
    if index.shape(prefix + "model.layers.0.self_attn.q_norm.weight") is not None:
        return None  # Gemma 3
    return decoder_shapes(index, prefix, HEAD_DIM)


def tokenizer_key(index: TensorIndex, prefix: str, name: str = TOKENIZER_KEY) -> str | None:
    """Where a file keeps a tokenizer tensor ``name`` (Gemma's ``spiece_model``, Mistral's ``tekken_model``): the
    nearest one beside the weights or above them (``text_encoders.gemma2_2b.transformer.`` →
    ``text_encoders.gemma2_2b.``, ``text_encoders.``, the top level)."""
    parts = prefix.split(".")[:-1]
    for cut in range(len(parts), -1, -1):
        key = "".join(part + "." for part in parts[:cut]) + name
        if key in index:
            return key
    return None


class Gemma2_2B(EncoderKind):  # noqa: N801 (ComfyUI's name)
    name: ClassVar[str] = "gemma2_2b"

    def detect(self, index: TensorIndex, prefix: str = "") -> EncoderDetected | None:
        config = read_config(index, prefix)
        if config is None:
            return None
        key = tokenizer_key(index, prefix)
        return EncoderDetected(self, prefix, config, also_read=(key,) if key else ())

    def build(self, tensors: dict[str, torch.Tensor], detected: EncoderDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from transformers import Gemma2Config, Gemma2Model

        from ..weights import apply_scales, assemble

        serialized = next((tensors.pop(key) for key in (*detected.also_read, TOKENIZER_KEY) if key in tensors), None)
        if serialized is None:
            raise ModelFileError(f"{detected.source or 'the file'}: the Gemma 2 text encoder has no tokenizer "
                                 f"(ComfyUI's Gemma files keep it as a '{TOKENIZER_KEY}' tensor beside the weights)")
        layers = int(detected.config["num_hidden_layers"])
        config: Any = Gemma2Config(**detected.config, **GEMMA2, layer_types=["full_attention"] * layers,
                                   use_cache=False)
        model = assemble(Gemma2Model, config, decoder_state(tensors), dtype, "Gemma 2 text encoder", detected.source)
        if detected.scales:
            apply_scales(model, decoder_state(detected.scales))
        model.inkgraph_tokenizer = SentencePieceTokenizer(bytes(serialized.to(torch.uint8).flatten().tolist()))
        return model  # type: ignore[no-any-return]

    def tokenizer(self) -> Any:
        raise ModelFileError("Gemma 2's tokenizer is read from its model file; load the file to get it")

    def recipe_for(self, clip_type: str) -> str | None:
        """ComfyUI: a Gemma 2 2B file is Lumina 2's encoder whatever the type."""
        return "lumina2"


class SentencePieceTokenizer:
    """A serialized SentencePiece model answering like a transformers tokenizer (``tok(text)["input_ids"]``):
    pieces of the text, with no start or end token (the recipe adds them, as ComfyUI's SDTokenizer does)."""

    def __init__(self, serialized: bytes) -> None:
        import sentencepiece

        self.processor = sentencepiece.SentencePieceProcessor(model_proto=serialized)

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        ids = list(self.processor.encode(text))
        return {"input_ids": [self.processor.bos_id(), *ids] if add_special_tokens else ids}

    def decode(self, ids: list[int]) -> str:
        """Text of token ids, control tokens (``<bos>``, ``<eos>``, ``<pad>``) left out."""
        return str(self.processor.decode([i for i in ids if not self.processor.is_control(i)]))

    def __len__(self) -> int:
        return int(self.processor.get_piece_size())


def gemma_rules(tokenizer: SentencePieceTokenizer) -> Any:
    """ComfyUI's Gemma 2 tokenizer settings: ``<bos>`` first, no end token, no chunks, padded with ``<pad>``
    to one token at least; emphasis is read."""
    from .prompt import TokenRules

    return TokenRules(lambda: tokenizer, START, None, PAD, 99999999, False, 1, "gemma2_2b")
