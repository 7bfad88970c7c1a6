"""umT5-XXL (Wan's text encoder) as transformers' UMT5EncoderModel, from ComfyUI's repackaged files
(``umt5_xxl_fp16.safetensors``, ``umt5_xxl_fp8_e4m3fn_scaled.safetensors``).

Its keys are T5's (``encoder.block.N…``, ``shared.weight``); umT5 is told from T5 v1.1 by the relative
attention bias every block has (T5 has one, in block 0). The architecture is read from the tensors as T5's.

The tokenizer is google/umt5-xxl's SentencePiece model. ComfyUI's repackaged files carry it as a uint8
tensor, ``spiece_model`` (ComfyUI's ``UMT5XXlTokenizer`` reads it from there), and so does Inkgraph: it is
converted to a fast tokenizer with transformers' SentencePiece converter (no ``sentencepiece`` package
needed) and kept on the loaded module. A copy is not shipped: no source of the 4.5 MB ``spiece.model``
(sha256 e3909a67…) was reachable from the build machines (the model hub is offline, the public mirrors
found hold it as a Git LFS pointer); a file without the tensor is refused with that explanation.
"""

from __future__ import annotations

import hashlib
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import torch

from ..state_dict import ModelFileError, TensorIndex
from .base import EncoderDetected, EncoderKind
from .t5 import read_config

TOKENIZER_KEY = "spiece_model"
SECOND_BIAS = "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"


class UMT5XXL(EncoderKind):
    """umT5 (gated GELU, a relative attention bias per block); any width and depth is read."""

    name = "umt5xxl"

    def detect(self, index: TensorIndex, prefix: str = "") -> EncoderDetected | None:
        config = read_config(index, prefix)
        if config is None or prefix + SECOND_BIAS not in index:
            return None
        return EncoderDetected(self, prefix, config)

    def build(self, tensors: dict[str, torch.Tensor], detected: EncoderDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from transformers import UMT5Config, UMT5EncoderModel

        from ..weights import apply_scales, assemble

        state = dict(tensors)
        spiece = state.pop(TOKENIZER_KEY, None)
        if spiece is None:
            raise ModelFileError(
                f"{detected.source}: this umT5 file carries no tokenizer (the '{TOKENIZER_KEY}' tensor ComfyUI's "
                "repackaged umt5_xxl_*.safetensors files hold); use one of those files")
        shared = state.get("shared.weight", state.get("encoder.embed_tokens.weight"))
        state["shared.weight"] = state["encoder.embed_tokens.weight"] = shared
        config: Any = UMT5Config(**detected.config, is_encoder_decoder=False, use_cache=False, dropout_rate=0.0,
                                 layer_norm_epsilon=1e-6, tie_word_embeddings=True)
        model = assemble(UMT5EncoderModel, config, state, dtype, "umT5 text encoder", detected.source)
        if detected.scales:
            apply_scales(model, detected.scales)
        _feed_forward_in_activation_dtype(model)
        model.inkgraph_tokenizer = spiece_tokenizer(spiece.to(torch.uint8).flatten().numpy().tobytes())
        return model  # type: ignore[no-any-return]

    def tokenizer(self) -> Any:
        raise ModelFileError("umT5's tokenizer comes from its file (the 'spiece_model' tensor); load the encoder")


_TOKENIZERS: dict[str, Any] = {}  # sha256 of a SentencePiece model → its fast tokenizer


def _spiece(data: bytes) -> Any:
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import SpmConverter

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spiece.model"
        path.write_bytes(data)

        class Source:  # what the converter reads from a slow tokenizer
            vocab_file = str(path)
            legacy = False  # SentencePiece's own rule: one dummy prefix at the start of the text
            add_prefix_space = True

        try:
            converted = SpmConverter(Source()).converted()
        except Exception as exc:  # protobuf's DecodeError and friends
            raise ModelFileError(f"the file's '{TOKENIZER_KEY}' is not a SentencePiece model ({exc})") from exc
    return PreTrainedTokenizerFast(tokenizer_object=converted, eos_token="</s>", pad_token="<pad>", unk_token="<unk>")


def spiece_tokenizer(data: bytes) -> Any:
    """A fast tokenizer for a serialized SentencePiece model (converted once per distinct model)."""
    digest = hashlib.sha256(data).hexdigest()
    if digest not in _TOKENIZERS:
        _TOKENIZERS[digest] = _spiece(data)
    return _TOKENIZERS[digest]


def _feed_forward_in_activation_dtype(model: torch.nn.Module) -> None:
    """transformers casts the feed-forward's activations to ``wo``'s weight dtype; fp8 weights compute in the
    activations' dtype here (as the T5 kind does)."""
    from transformers.models.umt5.modeling_umt5 import UMT5DenseGatedActDense

    from ..state_dict import FP8_DTYPES

    for module in model.modules():
        if isinstance(module, UMT5DenseGatedActDense) and module.wo.weight.dtype in FP8_DTYPES:
            module.__class__ = _gated_feed_forward()


@cache
def _gated_feed_forward() -> type:
    from transformers.models.umt5.modeling_umt5 import UMT5DenseGatedActDense

    class GatedFeedForward(UMT5DenseGatedActDense):
        def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
            hidden = self.act(self.wi_0(hidden_states)) * self.wi_1(hidden_states)
            return self.wo(self.dropout(hidden))  # type: ignore[no-any-return]

    return GatedFeedForward
