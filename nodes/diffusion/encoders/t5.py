"""T5 v1.1 encoders (T5-XXL for Flux, SD3 and Chroma) as transformers' T5EncoderModel.

ComfyUI's repackaged files (``t5xxl_fp16.safetensors``, ``t5xxl_fp8_e4m3fn.safetensors``,
``t5xxl_fp8_e4m3fn_scaled.safetensors``) already use transformers' key names (``encoder.block.N…``,
``shared.weight``). The architecture is read from the tensors: width, depth, MLP width, heads (the relative
attention bias has one column per head), head width, vocabulary, gated or plain feed-forward.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import torch

from ..state_dict import TensorIndex, block_count
from .base import EncoderDetected, EncoderKind

TOKENIZER_DIR = Path(__file__).resolve().parent.parent / "configs" / "t5_tokenizer"
MARKER = "encoder.block.0.layer.0.SelfAttention.q.weight"
BIAS = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"


def read_config(index: TensorIndex, prefix: str) -> dict[str, Any] | None:
    """T5Config fields of the encoder under ``prefix`` (None: no T5 encoder there)."""
    if prefix + MARKER not in index or prefix + BIAS not in index:
        return None
    shape = index[prefix + MARKER].shape
    buckets, heads = index[prefix + BIAS].shape
    embedding = index.shape(prefix + "shared.weight") or index.shape(prefix + "encoder.embed_tokens.weight")
    if embedding is None:
        raise KeyError("shared.weight")
    gated = prefix + "encoder.block.0.layer.1.DenseReluDense.wi_0.weight" in index
    mlp = index[prefix + "encoder.block.0.layer.1.DenseReluDense." + ("wi_0" if gated else "wi") + ".weight"].shape[0]
    layers = block_count({k[len(prefix):]: None for k in index if k.startswith(prefix)}, "encoder.block.")
    return {"vocab_size": embedding[0], "d_model": shape[1], "d_kv": shape[0] // heads, "num_heads": heads,
            "d_ff": mlp, "num_layers": layers, "relative_attention_num_buckets": buckets,
            "feed_forward_proj": "gated-gelu" if gated else "relu"}


class T5XXL(EncoderKind):
    """T5 v1.1 (gated GELU), the 24-block XXL encoder in real files; any width and depth is read."""

    name = "t5xxl"

    def detect(self, index: TensorIndex, prefix: str = "") -> EncoderDetected | None:
        config = read_config(index, prefix)
        if config is None or config["feed_forward_proj"] != "gated-gelu":
            return None
        return EncoderDetected(self, prefix, config)

    def build(self, tensors: dict[str, torch.Tensor], detected: EncoderDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from transformers import T5Config, T5EncoderModel

        from ..weights import apply_scales, assemble

        state = dict(tensors)
        shared = state.get("shared.weight", state.get("encoder.embed_tokens.weight"))
        state["shared.weight"] = state["encoder.embed_tokens.weight"] = shared  # tied in transformers
        config: Any = T5Config(**detected.config, is_encoder_decoder=False, use_cache=False, dropout_rate=0.0,
                          layer_norm_epsilon=1e-6, tie_word_embeddings=True)
        model = assemble(T5EncoderModel, config, state, dtype, "T5 text encoder", detected.source)
        if detected.scales:
            apply_scales(model, detected.scales)
        _feed_forward_in_activation_dtype(model)
        return model  # type: ignore[no-any-return]

    def tokenizer(self) -> Any:
        return t5_tokenizer()


def _feed_forward_in_activation_dtype(model: torch.nn.Module) -> None:
    """transformers casts the activations to ``wo``'s weight dtype (to keep ``wo`` in float32 for int8 T5s);
    with fp8 storage that would be fp8 activations. Our fp8 layers compute in the activations' dtype."""
    from transformers.models.t5.modeling_t5 import T5DenseGatedActDense

    from ..state_dict import FP8_DTYPES

    for module in model.modules():
        if isinstance(module, T5DenseGatedActDense) and module.wo.weight.dtype in FP8_DTYPES:
            module.__class__ = _gated_feed_forward()


@cache
def _gated_feed_forward() -> type:
    from transformers.models.t5.modeling_t5 import T5DenseGatedActDense

    class GatedFeedForward(T5DenseGatedActDense):
        def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
            hidden = self.act(self.wi_0(hidden_states)) * self.wi_1(hidden_states)
            return self.wo(self.dropout(hidden))  # type: ignore[no-any-return]

    return GatedFeedForward


@cache
def t5_tokenizer() -> Any:
    from transformers import T5TokenizerFast  # type: ignore[attr-defined]

    return T5TokenizerFast.from_pretrained(str(TOKENIZER_DIR), local_files_only=True)


def t5_rules(min_length: int, empty_has_end: bool = True) -> Any:
    """ComfyUI's T5-XXL tokenizer settings: no start token, ``</s>`` (1) at the end, no chunks, padded with
    ``<pad>`` (0) to ``min_length`` (SD3 77, Flux 256, Chroma 1). PixArt/Chroma measure emphasis against an
    empty prompt of padding only (``empty_has_end`` False)."""
    from .prompt import TokenRules

    return TokenRules(t5_tokenizer, None, 1, 0, 99999999, False, min_length, "t5xxl", empty_has_end)
