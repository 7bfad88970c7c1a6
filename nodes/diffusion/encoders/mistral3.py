"""Mistral 3 Small 24B, Flux.2 dev's text encoder, as transformers' MistralModel.

Files: ComfyUI's ``mistral_3_small_flux2_bf16.safetensors`` / ``…_fp8.safetensors`` (``model.layers.N…``,
``model.embed_tokens``, ``model.norm``; fp8, scaled-fp8 and per-layer fp8 load through the usual scales), and
the same under ``text_encoders.mistral3_24b.transformer.`` in all-in-one checkpoints. A Llama-style decoder
without q/k norms or attention biases, told from Llama 3.1 8B as ComfyUI tells it — by its width, 5120 — or,
for models narrower than the real one (tests), by the tokenizer beside it. A file with fewer than 40 layers is
ComfyUI's pruned Flux.2 encoder: 30 layers and no final norm. Heads are 128 wide (Mistral Small's: 32 query
heads × 128 ≠ the 5120 width, so the head width is not the width over the heads); rope θ = 10⁹, norm ε 10⁻⁵,
full attention (no sliding window), as ComfyUI's ``Mistral3Small24BConfig``.

The tokenizer is read from the file (:mod:`.tekken`): ComfyUI's files keep Mistral's ``tekken.json`` as a
``tekken_model`` tensor beside the weights; a file without it is an error naming the file.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..state_dict import ModelFileError, TensorIndex
from .base import EncoderDetected, EncoderKind
from .gemma2 import tokenizer_key
from .llm import decoder_shapes, decoder_state

HEAD_DIM = 128
WIDTH = 5120  # Mistral 3 Small 24B
FULL_DEPTH = 40
TOKENIZER_KEY = "tekken_model"
MISTRAL3: dict[str, Any] = {"rope_theta": 1e9, "rms_norm_eps": 1e-5, "max_position_embeddings": 8192,
                            "hidden_act": "silu", "sliding_window": None, "tie_word_embeddings": False}


def plain_decoder(index: TensorIndex, prefix: str) -> bool:
    """A Llama-style decoder without q/k norms (Qwen3, Gemma 3), attention biases (Qwen2.5) or norms around the
    MLP (Gemma): Mistral's and Llama's shape."""
    absent = ("model.layers.0.self_attn.q_norm.weight", "model.layers.0.self_attn.k_proj.bias",
              "model.layers.0.post_feedforward_layernorm.weight")
    return (index.shape(prefix + "model.layers.0.self_attn.q_proj.weight") is not None
            and all(index.shape(prefix + key) is None for key in absent))


class Mistral3_24B(EncoderKind):  # noqa: N801 (ComfyUI's name)
    name: ClassVar[str] = "mistral3_24b"

    def detect(self, index: TensorIndex, prefix: str = "") -> EncoderDetected | None:
        if not plain_decoder(index, prefix):
            return None
        key = tokenizer_key(index, prefix, TOKENIZER_KEY)
        config = decoder_shapes(index, prefix, HEAD_DIM)
        if config is None or (config["hidden_size"] != WIDTH and key is None):
            return None
        return EncoderDetected(self, prefix, config, also_read=(key,) if key else ())

    def build(self, tensors: dict[str, torch.Tensor], detected: EncoderDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from transformers import MistralConfig, MistralModel

        from ..weights import apply_scales, assemble
        from .tekken import from_tensor

        serialized = next((tensors.pop(key) for key in (*detected.also_read, TOKENIZER_KEY) if key in tensors), None)
        if serialized is None:
            raise ModelFileError(f"{detected.source or 'the file'}: the Mistral 3 text encoder has no tokenizer "
                                 f"(ComfyUI's Mistral files keep it as a '{TOKENIZER_KEY}' tensor beside the weights)")
        config: Any = MistralConfig(**detected.config, **MISTRAL3, use_cache=False)
        state = decoder_state(tensors)
        pruned = int(detected.config["num_hidden_layers"]) < FULL_DEPTH
        if pruned and "norm.weight" not in state:
            state["norm.weight"] = torch.ones(int(detected.config["hidden_size"]))  # unused: no final norm
        model = assemble(MistralModel, config, state, dtype, "Mistral 3 text encoder", detected.source)
        if detected.scales:
            apply_scales(model, decoder_state(detected.scales))
        model.inkgraph_tokenizer = from_tensor(serialized)
        model.inkgraph_final_norm = not pruned
        return model  # type: ignore[no-any-return]

    def tokenizer(self) -> Any:
        raise ModelFileError("Mistral 3's tokenizer is read from its model file; load the file to get it")

    def recipe_for(self, clip_type: str) -> str | None:
        """ComfyUI: a Mistral 3 Small file is Flux.2's encoder whatever the type."""
        return "flux2"
