"""Llama 3.1 8B Instruct, HiDream's fourth text encoder, as transformers' LlamaModel.

Files: ComfyUI's ``llama_3.1_8b_instruct_fp8_scaled.safetensors`` (``model.layers.N…``, ``model.embed_tokens``,
``model.norm``; fp16/bf16, fp8 and scaled fp8 load through the usual scales). ComfyUI's ``detect_te_model``
calls any Llama-style decoder without q/k norms, attention biases or Gemma's extra norms Llama 3 — here the
plain decoders Mistral 3 Small does not claim (5120 wide, or a ``tekken_model`` beside it). 32 heads of 128 in
the real file (8 key/value heads), rope θ = 500 000 without Llama 3.1's long-context rescaling and norm ε 10⁻⁵,
as ComfyUI's ``Llama2Config``. A lone Llama file is HiDream's encoder whatever CLIPLoader's type, as in ComfyUI.

The tokenizer: ComfyUI ships Llama 3's ``tokenizer.json`` inside its code (``text_encoders/llama_tokenizer``);
its model files do not carry it, and Inkgraph cannot ship it (its vocabulary is not reachable from where
Inkgraph is built). It is read from ``configs/llama3_tokenizer/tokenizer.json`` when that is vendored, else
from ``llama_tokenizer/tokenizer.json`` beside the model file (``models/text_encoders/llama_tokenizer/``, the
folder name ComfyUI uses); without either, loading fails with an error that says where to put it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import torch

from ..state_dict import ModelFileError, TensorIndex
from .base import EncoderDetected, EncoderKind
from .gemma2 import tokenizer_key
from .llm import decoder_shapes, decoder_state
from .mistral3 import TOKENIZER_KEY as TEKKEN_KEY
from .mistral3 import WIDTH as MISTRAL_WIDTH
from .mistral3 import plain_decoder

HEAD_DIM = 128
SHIPPED = Path(__file__).resolve().parent.parent / "configs" / "llama3_tokenizer" / "tokenizer.json"
BESIDE = Path("llama_tokenizer") / "tokenizer.json"
START, PAD = "<|begin_of_text|>", "<|eot_id|>"  # ComfyUI's ids 128000 and 128009 in the real vocabulary
LLAMA3: dict[str, Any] = {"rope_theta": 500000.0, "rms_norm_eps": 1e-5, "max_position_embeddings": 8192,
                          "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
                          "tie_word_embeddings": False}


class Llama3_8B(EncoderKind):  # noqa: N801 (ComfyUI's naming)
    name: ClassVar[str] = "llama3_8b"

    def detect(self, index: TensorIndex, prefix: str = "") -> EncoderDetected | None:
        if not plain_decoder(index, prefix) or tokenizer_key(index, prefix, TEKKEN_KEY) is not None:
            return None
        config = decoder_shapes(index, prefix, HEAD_DIM)
        if config is None or config["hidden_size"] == MISTRAL_WIDTH:
            return None
        return EncoderDetected(self, prefix, config)

    def build(self, tensors: dict[str, torch.Tensor], detected: EncoderDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from transformers import LlamaConfig, LlamaModel

        from ..weights import apply_scales, assemble

        tokenizer = llama_tokenizer(detected.folder, detected.source)
        config: Any = LlamaConfig(**detected.config, **LLAMA3, use_cache=False)
        model = assemble(LlamaModel, config, decoder_state(tensors), dtype, "Llama 3 text encoder", detected.source)
        if detected.scales:
            apply_scales(model, decoder_state(detected.scales))
        model.inkgraph_tokenizer = tokenizer
        return model  # type: ignore[no-any-return]

    def tokenizer(self) -> Any:
        return llama_tokenizer(None, "")

    def recipe_for(self, clip_type: str) -> str | None:
        """ComfyUI: a lone Llama 3 file is HiDream's encoder whatever the type."""
        return "hidream"


def tokenizer_path(folder: Path | None) -> Path | None:
    """Where Llama 3's tokenizer.json is: shipped, else beside the model file."""
    if SHIPPED.is_file():
        return SHIPPED
    if folder is not None and (folder / BESIDE).is_file():
        return folder / BESIDE
    return None


def llama_tokenizer(folder: Path | None, source: str) -> Any:
    found = tokenizer_path(folder)
    if found is None:
        where = f"{source}: " if source else ""
        beside = folder / BESIDE if folder is not None else Path("models/text_encoders") / BESIDE
        raise ModelFileError(
            f"{where}Llama 3's tokenizer is not shipped with Inkgraph and ComfyUI's Llama files do not carry it; "
            f"put Llama 3.1 8B Instruct's tokenizer.json (ComfyUI's comfy/text_encoders/llama_tokenizer/"
            f"tokenizer.json) at {beside}")
    return _load(str(found))


@cache
def _load(path: str) -> Any:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_file=path)


def special_ids(tokenizer: Any) -> tuple[int, int]:
    """(start, pad): ``<|begin_of_text|>`` and ``<|eot_id|>`` of this vocabulary (128000, 128009 in the real)."""
    start, pad = tokenizer.convert_tokens_to_ids(START), tokenizer.convert_tokens_to_ids(PAD)
    if not isinstance(start, int) or not isinstance(pad, int) or start < 0 or pad < 0:
        raise ModelFileError(f"the Llama tokenizer has no {START} or {PAD} token")
    return start, pad
