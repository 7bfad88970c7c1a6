"""GGUF text encoders as llama.cpp writes them (T5 ``enc.blk.N.attn_q``, Qwen ``blk.N.attn_q``): their
keys come back under the transformers names, and the transformers modules built with
``weights.assemble`` compute from the quantized blocks (T5's ``wo`` included, whose activations
transformers casts to the weight's dtype unless it is int8)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType as Q

from inkgraph.nodes.diffusion.gguf_ops import GGUFEmbedding, GGUFLinear
from inkgraph.nodes.diffusion.gguf_tensor import QuantizedTensor
from inkgraph.nodes.diffusion.state_dict import index_file, read_state_dict
from inkgraph.nodes.diffusion.weights import assemble
from tests.fixtures import tiny_gguf

# transformers' names → llama.cpp's (what its converter writes)
T5_TO_LLAMA_CPP = ((r"^shared\.", "token_embd."), (r"^encoder\.final_layer_norm", "enc.output_norm"),
                   (r"^encoder\.block\.(\d+)\.", r"enc.blk.\1."),
                   (r"layer\.0\.SelfAttention\.relative_attention_bias", "attn_rel_b"),
                   (r"layer\.0\.SelfAttention\.([qkvo])\.", r"attn_\1."), (r"layer\.0\.layer_norm", "attn_norm"),
                   (r"layer\.1\.DenseReluDense\.wi_0", "ffn_gate"), (r"layer\.1\.DenseReluDense\.wi_1", "ffn_up"),
                   (r"layer\.1\.DenseReluDense\.wo", "ffn_down"), (r"layer\.1\.layer_norm", "ffn_norm"))
QWEN_TO_LLAMA_CPP = ((r"^embed_tokens", "token_embd"), (r"^norm\.", "output_norm."), (r"^layers\.(\d+)\.", r"blk.\1."),
                     (r"input_layernorm", "attn_norm"), (r"self_attn\.([qk])_norm", r"attn_\1_norm"),
                     (r"self_attn\.([qkv])_proj", r"attn_\1"), (r"self_attn\.o_proj", "attn_output"),
                     (r"post_attention_layernorm", "ffn_norm"), (r"mlp\.gate_proj", "ffn_gate"),
                     (r"mlp\.up_proj", "ffn_up"), (r"mlp\.down_proj", "ffn_down"))


def _renamed(state: dict[str, torch.Tensor], rules: tuple[tuple[str, str], ...], skip: str = "") -> dict[str, Any]:
    out = {}
    for key, value in state.items():
        if skip and key.startswith(skip):
            continue
        for pattern, replacement in rules:
            key = re.sub(pattern, replacement, key)
        out[key] = value
    return out


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).norm() / b.float().norm())


def _reference(tensors: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The same tensors with every quantized one dequantized by the ``gguf`` package's numpy reference."""
    def plain(value: Any) -> torch.Tensor:
        if isinstance(value, QuantizedTensor):
            values = gguf.quants.dequantize(value.raw.numpy(), Q(value.qtype))
            return torch.from_numpy(np.array(values, dtype=np.float32)).reshape(value.shape)
        return value  # type: ignore[no-any-return]

    return {key: plain(value) for key, value in tensors.items()}


@pytest.mark.parametrize("qtype", [Q.Q8_0, Q.Q5_0], ids=lambda t: t.name)
def test_llama_cpp_t5_encoder(tmp_path: Path, qtype: Q) -> None:
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    config = T5Config(vocab_size=320, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4,
                      feed_forward_proj="gated-gelu", relative_attention_num_buckets=32)
    original = T5EncoderModel(config).eval()
    path = tmp_path / "t5-v1_1-tiny-encoder.gguf"
    tiny_gguf.write(path, _renamed(original.state_dict(), T5_TO_LLAMA_CPP, skip="encoder.embed_tokens."), qtype,
                    arch="t5encoder", shape_fix=False)
    index = index_file(path)
    assert set(index) == set(original.state_dict()) - {"encoder.embed_tokens.weight"}
    assert index["encoder.block.1.layer.1.DenseReluDense.wo.weight"].shape == (64, 128)
    tensors, _ = read_state_dict(path)
    tensors["encoder.embed_tokens.weight"] = tensors["shared.weight"]  # tied, as the encoder's loader ties it
    ids = torch.randint(0, 320, (1, 12))
    reference = assemble(T5EncoderModel, config, _reference(tensors), torch.float32, "text encoder")
    with torch.no_grad():
        expected = reference(ids).last_hidden_state
        if qtype == Q.Q8_0:  # and what the file holds is close to the model it was quantized from
            assert _relative(expected, original(ids).last_hidden_state) < 0.03
    for dtype, bound in ((torch.float32, 1e-5), (torch.bfloat16, 0.05)):
        model = assemble(T5EncoderModel, config, dict(tensors), dtype, "text encoder", path.name)
        wo = model.encoder.block[0].layer[1].DenseReluDense.wo
        assert isinstance(wo, GGUFLinear) and isinstance(model.shared, GGUFEmbedding)
        with torch.no_grad():
            out = model(ids).last_hidden_state
        assert out.dtype == dtype and _relative(out, expected) < bound, (dtype, _relative(out, expected))


def test_llama_cpp_qwen3_encoder(tmp_path: Path) -> None:
    from transformers import Qwen3Config, Qwen3Model

    torch.manual_seed(0)
    config = Qwen3Config(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=16)
    original = Qwen3Model(config).eval()
    path = tmp_path / "Qwen3-tiny-Q8_0.gguf"
    tiny_gguf.write(path, _renamed(original.state_dict(), QWEN_TO_LLAMA_CPP), Q.Q8_0, arch="qwen3", shape_fix=False)
    index = index_file(path)
    assert set(index) == {"model." + key for key in original.state_dict()}  # ComfyUI's qwen_3_4b layout
    tensors, _ = read_state_dict(path, strip="model.")
    model = assemble(Qwen3Model, config, tensors, torch.float32, "text encoder", path.name)
    reference = assemble(Qwen3Model, config, _reference(tensors), torch.float32, "text encoder")
    assert isinstance(model.layers[1].self_attn.q_proj, GGUFLinear)
    ids = torch.randint(0, 256, (1, 10))
    with torch.no_grad():
        out, expected = model(ids).last_hidden_state, reference(ids).last_hidden_state
        assert _relative(expected, original(ids).last_hidden_state) < 0.03
    assert _relative(out, expected) < 1e-5
