"""Qwen3-4B (Z-Image) and Gemma 2 2B (Lumina 2, NetaYume) text encoders and the ``lumina2`` CLIPLoader type:
the files ComfyUI users have (repackaged bf16, fp8, scaled fp8, fp8mixed; an all-in-one checkpoint's
prefix; Gemma's tokenizer carried in the file), the prompt templates token for token, the hidden layer
read (against a plain decoder written from ComfyUI's ``llama.py``), emphasis against the empty prompt,
CLIPSetLastLayer, and ComfyUI's choice of recipe from the file."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from inkgraph.nodes.diffusion.encoders import EncodeRequest, files, recipe
from inkgraph.nodes.diffusion.encoders.lumina2 import z_image_prompt
from inkgraph.nodes.diffusion.encoders.qwen3 import qwen_tokenizer
from inkgraph.nodes.diffusion.state_dict import ModelFileError
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_lumina as tl


def load(path: Path, dtype: torch.dtype = torch.float32) -> Any:
    (found,) = files.find_file(path)
    return found, files.load(path, found, dtype)


# -- a plain decoder, as ComfyUI's comfy/text_encoders/llama.py computes it ----------------------------------

def rms(x: torch.Tensor, weight: torch.Tensor, eps: float, add: bool) -> torch.Tensor:
    x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return x * (1 + weight if add else weight)


def rope(x: torch.Tensor, theta: float) -> torch.Tensor:
    """Rotary embedding over the last dim (halves rotated, as llama.py's rotate_half)."""
    dim, length = x.shape[-1], x.shape[-2]
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    angles = torch.outer(torch.arange(length, dtype=torch.float32), freqs)
    cos, sin = torch.cat([angles.cos()] * 2, -1), torch.cat([angles.sin()] * 2, -1)
    rotated = torch.cat([-x[..., dim // 2:], x[..., :dim // 2]], -1)
    return x * cos + rotated * sin


def reference_layers(state: dict[str, torch.Tensor], ids: torch.Tensor, mask: torch.Tensor, gemma: bool,
                     heads: int, kv_heads: int, head_dim: int) -> list[torch.Tensor]:
    """Every decoder layer's output (no final norm) for one batch, causal attention over unmasked keys."""
    w = {k[len("model."):]: v.float() for k, v in state.items() if k.startswith("model.")}
    theta = 10_000.0 if gemma else 1_000_000.0
    x = w["embed_tokens.weight"][ids]
    if gemma:
        x = x * math.sqrt(x.shape[-1])
    length = ids.shape[1]
    allowed = torch.tril(torch.ones(length, length, dtype=torch.bool))[None] & mask.bool()[:, None, :]
    outputs = []
    for i in range(sum(1 for k in w if k.endswith("input_layernorm.weight"))):
        p = f"layers.{i}."
        h = rms(x, w[p + "input_layernorm.weight"], 1e-6, gemma)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).unflatten(-1, (heads, head_dim)).transpose(1, 2)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).unflatten(-1, (kv_heads, head_dim)).transpose(1, 2)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).unflatten(-1, (kv_heads, head_dim)).transpose(1, 2)
        if not gemma:
            q, k = rms(q, w[p + "self_attn.q_norm.weight"], 1e-6, False), rms(k, w[p + "self_attn.k_norm.weight"], 1e-6,
                                                                                   False)
        q, k = rope(q, theta), rope(k, theta)
        k, v = k.repeat_interleave(heads // kv_heads, 1), v.repeat_interleave(heads // kv_heads, 1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(head_dim)
        attention = scores.masked_fill(~allowed[:, None], float("-inf")).softmax(-1) @ v
        attention = attention.transpose(1, 2).flatten(2) @ w[p + "self_attn.o_proj.weight"].T
        if gemma:
            attention = rms(attention, w[p + "post_attention_layernorm.weight"], 1e-6, True)
        x = x + attention
        h = rms(x, w[p + ("pre_feedforward_layernorm.weight" if gemma else "post_attention_layernorm.weight")], 1e-6,
                gemma)
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        gate = F.gelu(gate, approximate="tanh") if gemma else F.silu(gate)
        h = (gate * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
        if gemma:
            h = rms(h, w[p + "post_feedforward_layernorm.weight"], 1e-6, True)
        x = x + h
        outputs.append(x)
    return outputs


# -- Qwen3-4B and Z-Image's reading ----------------------------------------------------------------------------

def test_z_image_template_token_for_token() -> None:
    """ComfyUI's ZImageTokenizer: "<|im_start|>user\\n{}<|im_end|>\\n<|im_start|>assistant\\n"; for "A cat",
    Qwen's ids: <|im_start|> 151644, "user" 872, "\\n" 198, "A" 32, " cat" 8251, <|im_end|> 151645, "\\n" 198,
    <|im_start|> 151644, "assistant" 77091, "\\n" 198."""
    from inkgraph.nodes.diffusion.encoders.prompt import tokenize
    from inkgraph.nodes.diffusion.encoders.qwen3 import qwen_rules

    assert z_image_prompt("A cat") == "<|im_start|>user\nA cat<|im_end|>\n<|im_start|>assistant\n"
    (chunk,) = tokenize(z_image_prompt("A cat"), qwen_rules())
    assert [t for t, _ in chunk] == [151644, 872, 198, 32, 8251, 151645, 198, 151644, 77091, 198]
    assert qwen_tokenizer().convert_ids_to_tokens([872, 77091, 8251]) == ["user", "assistant", "Ġcat"]
    (literal,) = tokenize(z_image_prompt("a (red:1.3) fox"), qwen_rules())  # no emphasis: brackets are text
    assert {w for _, w in literal} == {1.0}
    assert qwen_tokenizer().decode([t for t, _ in literal]) == z_image_prompt("a (red:1.3) fox")


def _fp8(state: dict[str, torch.Tensor], linear: set[str]) -> dict[str, torch.Tensor]:
    return {k: v.to(torch.float8_e4m3fn) if k[: -len(".weight")] in linear else v.to(torch.bfloat16)
            for k, v in state.items()}


@pytest.mark.parametrize("fmt", ["bf16", "fp8", "scaled_fp8", "fp8mixed"])
def test_qwen3_files_load_and_read_the_penultimate_layer(tmp_path: Path, fmt: str) -> None:
    model = tl.qwen3(1)
    state = tl.comfy_llm_state(model)
    linear = {k[: -len(".weight")] for k, v in state.items() if v.ndim == 2 and "embed_tokens" not in k}
    path = tmp_path / "qwen_3_4b.safetensors"
    saved = {"bf16": lambda: {k: v.to(torch.bfloat16) for k, v in state.items()}, "fp8": lambda: _fp8(state, linear),
             "scaled_fp8": lambda: td.scaled_fp8(state, linear), "fp8mixed": lambda: td.fp8_mixed(state, linear)}[fmt]()
    td.save(saved, path)
    found, encoder = load(path)
    assert (found.kind.name, found.prefix) == ("qwen3_4b", "")
    assert found.config == {"vocab_size": 151936, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
                            "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8}
    if fmt != "bf16":
        assert encoder.layers[0].mlp.gate_proj.weight.dtype == torch.float8_e4m3fn
    states, options = recipe("lumina2").encode({"qwen3_4b": encoder}, "A cat", None, EncodeRequest())[0]
    ids = torch.tensor([[151644, 872, 198, 32, 8251, 151645, 198, 151644, 77091, 198]])
    assert states.shape == (1, 10, 16) and torch.equal(options["attention_mask"], torch.ones(1, 10, dtype=torch.long))
    # layer_idx −2 without the final norm, from the weights as stored (fp8 ones with their scales)
    stored = {k: v.float() for k, v in saved.items() if k.startswith("model.") and not k.endswith(
        ("scale_weight", "weight_scale", "comfy_quant"))}
    for key in list(stored):
        module = key[: -len(".weight")]
        scale = saved.get(module + ".scale_weight", saved.get(module + ".weight_scale"))
        if scale is not None:
            stored[key] = stored[key] * scale.float()
    reference = reference_layers(stored, ids, torch.ones(1, 10), False, 2, 1, 8)[-2]
    assert torch.allclose(states, reference, atol=1e-4)
    exact = reference_layers(state, ids, torch.ones(1, 10), False, 2, 1, 8)[-2]
    assert torch.allclose(states, exact, atol=0.1 * exact.abs().max().item())


def test_clip_set_last_layer_on_a_language_model(tmp_path: Path) -> None:
    """ComfyUI: a layer index within the model reads that layer's output without the final norm; one deeper
    than the model reads the last output with it."""
    model = tl.qwen3(2, layers=3)
    path = tmp_path / "qwen_3_4b.safetensors"
    td.save(tl.comfy_llm_state(model), path)
    _, encoder = load(path)
    ids = torch.tensor([[151644, 872, 198, 32, 8251, 151645, 198, 151644, 77091, 198]])
    with torch.no_grad():
        hidden = model(input_ids=ids, output_hidden_states=True)
    layers = reference_layers(tl.comfy_llm_state(model), ids, torch.ones(1, 10), False, 2, 1, 8)
    lumina2 = recipe("lumina2")
    for layer, expected in ((-1, layers[-1]), (-3, layers[0]), (-4, hidden.last_hidden_state)):
        states = lumina2.encode({"qwen3_4b": encoder}, "A cat", layer, EncodeRequest())[0][0]
        assert torch.allclose(states, expected, atol=1e-5), layer


def test_comfyui_picks_the_recipe_from_a_single_encoder_file(tmp_path: Path) -> None:
    from inkgraph.engine.core.devices import ModelManager
    from inkgraph.nodes.diffusion.loading import load_text_encoders

    td.save(tl.comfy_llm_state(tl.qwen3(3)), tmp_path / "qwen_3_4b.safetensors", dtype=torch.bfloat16)
    td.save(tl.comfy_gemma_state(tl.gemma2(3)), tmp_path / "gemma_2_2b_fp16.safetensors", dtype=torch.float16)
    manager = ModelManager()
    for name, clip_type in (("qwen_3_4b", "stable_diffusion"), ("qwen_3_4b", "qwen_image"), ("gemma_2_2b_fp16", "sd3")):
        handle = load_text_encoders(manager, [tmp_path / f"{name}.safetensors"], clip_type)
        assert handle.recipe == "lumina2"
    for clip_type in ("flux", "flux2"):  # Flux.2 klein's encoder for these two types
        assert load_text_encoders(manager, [tmp_path / "qwen_3_4b.safetensors"], clip_type).recipe == "flux2"
    with pytest.raises(ValueError, match="type 'lumina2' takes one text encoder"):
        load_text_encoders(manager, [tmp_path / "qwen_3_4b.safetensors", tmp_path / "gemma_2_2b_fp16.safetensors"],
                           "lumina2")


# -- Gemma 2 2B and Lumina 2's reading ------------------------------------------------------------------------

def test_gemma_tokenizer_comes_from_the_file_and_the_prompt_starts_with_bos(tmp_path: Path) -> None:
    import sentencepiece

    path = tmp_path / "gemma_2_2b_fp16.safetensors"
    td.save(tl.comfy_gemma_state(tl.gemma2(1)), path, dtype=torch.float16)
    found, encoder = load(path)
    assert (found.kind.name, found.prefix, found.also_read) == ("gemma2_2b", "", ("spiece_model",))
    processor = sentencepiece.SentencePieceProcessor(model_proto=tl.spiece_model())
    assert encoder.inkgraph_tokenizer("a red fox")["input_ids"] == processor.encode("a red fox")
    from inkgraph.nodes.diffusion.encoders.gemma2 import gemma_rules
    from inkgraph.nodes.diffusion.encoders.prompt import tokenize

    (chunk,) = tokenize("a red fox", gemma_rules(encoder.inkgraph_tokenizer))
    assert [t for t, _ in chunk] == [2, *processor.encode("a red fox")]
    assert tokenize("", gemma_rules(encoder.inkgraph_tokenizer)) == [[(2, 1.0)]]


def test_gemma_states_and_emphasis_against_the_empty_prompt(tmp_path: Path) -> None:
    """ComfyUI's Gemma2_2B: the penultimate layer without the final norm, no attention soft-capping; a weighted
    token moves from the empty prompt's state ([bos, pad …], attended up to the first pad) by its weight."""
    import sentencepiece

    state = tl.comfy_gemma_state(tl.gemma2(4))
    path = tmp_path / "gemma_2_2b_fp16.safetensors"
    td.save(state, path)
    _, encoder = load(path)
    processor = sentencepiece.SentencePieceProcessor(model_proto=tl.spiece_model())
    pieces = [processor.encode(text) for text in ("a ", "red", " fox")]
    ids = torch.tensor([[2, *pieces[0], *pieces[1], *pieces[2]]])
    empty = torch.tensor([[2] + [0] * (ids.shape[1] - 1)])
    mask_empty = torch.zeros_like(empty)
    mask_empty[0, 0] = 1
    weights = torch.tensor([1.0] * (1 + len(pieces[0])) + [1.5] * len(pieces[1]) + [1.0] * len(pieces[2]))[:, None]
    z = reference_layers(state, ids, torch.ones_like(ids), True, 1, 1, 256)[-2][0]
    z_empty = reference_layers(state, empty, mask_empty, True, 1, 1, 256)[-2][0]
    whole = torch.tensor([[2, *processor.encode("a red fox")]])  # one fragment, tokenized whole
    lumina2 = recipe("lumina2")
    plain = lumina2.encode({"gemma2_2b": encoder}, "a red fox", None, EncodeRequest())[0]
    weighted = lumina2.encode({"gemma2_2b": encoder}, "a (red:1.5) fox", None, EncodeRequest())[0]
    assert torch.allclose(plain[0], reference_layers(state, whole, torch.ones_like(whole), True, 1, 1, 256)[-2],
                          atol=1e-4)
    assert torch.allclose(weighted[0][0], (z - z_empty) * weights + z_empty, atol=1e-4)
    assert torch.equal(weighted[1]["attention_mask"], torch.ones(1, ids.shape[1], dtype=torch.long))


def test_gemma_in_an_all_in_one_checkpoint_and_without_its_tokenizer(tmp_path: Path) -> None:
    model = tl.gemma2(5)
    prefix = "text_encoders.gemma2_2b.transformer."
    checkpoint = {**{prefix + k: v for k, v in tl.comfy_llm_state(model).items()},
                  "text_encoders.spiece_model": tl.spiece_tensor()}
    path = tmp_path / "lumina_2.safetensors"
    td.save(checkpoint, path)
    found, encoder = load(path)
    assert (found.prefix, found.also_read) == (prefix, ("text_encoders.spiece_model",))
    assert all(torch.equal(encoder.state_dict()[k], v) for k, v in model.state_dict().items())
    bare = tmp_path / "gemma_without_tokenizer.safetensors"
    td.save(tl.comfy_llm_state(model), bare)
    (found,) = files.find_file(bare)
    with pytest.raises(ModelFileError, match="gemma_without_tokenizer.safetensors: the Gemma 2 text encoder has no "
                                             "tokenizer"):
        files.load(bare, found, torch.float32)


def test_clip_text_encode_lumina2_writes_comfyuis_system_prompt() -> None:
    from inkgraph.nodes.lumina2 import lumina2_prompt

    assert lumina2_prompt("superior", "a cat") == (
        "You are an assistant designed to generate superior images with the superior degree of image-text "
        "alignment based on textual prompts or user prompts. <Prompt Start> a cat")
    assert lumina2_prompt("alignment", "") == (
        "You are an assistant designed to generate high-quality images with the highest degree of image-text "
        "alignment based on textual prompts. <Prompt Start> ")


def test_a_llama_cpp_gguf_qwen3_is_found_and_loaded_as_the_qwen3_4b_kind(tmp_path: Path) -> None:
    """unsloth's Qwen3-4B-GGUF as ComfyUI-GGUF users have it: llama.cpp's names, read as ComfyUI's layout."""
    from gguf import GGMLQuantizationType as Q
    from transformers import Qwen3Config, Qwen3Model

    from tests.fixtures import tiny_gguf
    from tests.nodes.test_gguf_text_encoders import QWEN_TO_LLAMA_CPP, _renamed

    torch.manual_seed(0)
    original = Qwen3Model(Qwen3Config(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                      rope_theta=1_000_000.0)).eval()  # Qwen3-4B's θ
    path = tmp_path / "Qwen3-4B-Q8_0.gguf"
    tiny_gguf.write(path, _renamed(original.state_dict(), QWEN_TO_LLAMA_CPP), Q.Q8_0, arch="qwen3", shape_fix=False)
    found, encoder = load(path)
    assert (found.kind.name, found.prefix, found.config["num_attention_heads"]) == ("qwen3_4b", "", 4)
    ids = torch.randint(0, 256, (1, 10))
    with torch.no_grad():
        ours, reference = encoder(ids).last_hidden_state, original(ids).last_hidden_state
    assert float((ours - reference).norm() / reference.norm()) < 0.03
