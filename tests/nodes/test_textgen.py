"""TextGenerate ("Generate Text", ComfyUI's ``comfy_extras/nodes_textgen.py``): its /object_info against
ComfyUI's declaration written down here; greedy generation with Qwen3-4B, Gemma 2 and Qwen2.5-VL (an image,
the file's lm_head) equal to transformers' ``generate`` over the same modules; ComfyUI's sampling filters
against hand-computed values; seeds that reproduce; the chat templates token for token; the reasoning split;
and the official llm_qwen3_text_gen template run end to end on a tiny Qwen3 in ComfyUI's file layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.formats import ui_to_api
from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes.diffusion.encoders import files, recipe
from inkgraph.nodes.diffusion.encoders.base import GenerateRequest
from inkgraph.nodes.diffusion.encoders.generate import Sampling, generate, processed_probs, sample_token
from inkgraph.nodes.diffusion.encoders.qwen3 import qwen_tokenizer
from inkgraph.nodes.textgen import split_thinking
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_lumina as tl
from tests.fixtures import tiny_qwen as tq

TEMPLATES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "templates"
FLOAT = "FLOAT"


def f(default: float, lo: float, hi: float, step: float) -> list[Any]:
    return [FLOAT, {"default": default, "min": lo, "max": hi, "step": step}]


# ComfyUI (nodes_textgen.py, the version the current templates were saved with): inputs and outputs
SAMPLING_ON = {"required": {"temperature": f(0.7, 0.01, 2.0, 0.000001),
                            "top_k": ["INT", {"default": 64, "min": 0, "max": 1000}],
                            "top_p": f(0.95, 0.0, 1.0, 0.01), "min_p": f(0.05, 0.0, 1.0, 0.01),
                            "repetition_penalty": f(1.05, 0.0, 5.0, 0.01),
                            "seed": ["INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF}]},
               "optional": {"presence_penalty": f(0.0, 0.0, 5.0, 0.01)}}
REFERENCE_REQUIRED = {
    "clip": ["CLIP"],
    "prompt": ["STRING", {"default": "", "multiline": True, "dynamicPrompts": True}],
    "max_length": ["INT", {"default": 512, "min": 1, "max": 32768}],
    "sampling_mode": ["COMFY_DYNAMICCOMBO_V3", {"display_name": "Sampling Mode", "options": [
        {"key": "on", "inputs": SAMPLING_ON}, {"key": "off", "inputs": {"required": {}}}]}],
}
REFERENCE_OPTIONAL = {
    "image": ["IMAGE"],
    "video": ["IMAGE", {"tooltip": "Video frames as image batch. Assumed to be 24 FPS; subsampled to 1 FPS "
                                   "internally."}],
    "audio": ["AUDIO"],
    "thinking": ["BOOLEAN", {"default": False, "tooltip": "Operate in thinking mode if the model supports it."}],
    "use_default_template": ["BOOLEAN", {"default": True, "advanced": True,
                                         "tooltip": "Use the built in system prompt/template if the model has one."}],
    "mtp": [["auto", "off", "2", "3", "4", "5"], {"default": "auto", "tooltip": (
        "Speculative decoding with the checkpoint's multi-token-prediction head. No effect without MTP weights. "
        "auto adapts the draft depth; 2-5 pins it. Sampled output stays correctly distributed but differs from "
        "non-MTP output for the same seed.")}],
    "system_prompt": ["STRING", {"forceInput": True, "multiline": False, "tooltip": (
        "Replaces the system prompt in the model's chat template. Ignored when the default template is not "
        "used.")}],
}


def test_object_info_matches_comfyui() -> None:
    spec = next(spec_of(fn) for fn in nodes.node_list() if spec_of(fn).class_type == "TextGenerate")
    info = node_info(spec, None)
    assert (info["display_name"], info["category"], info["output_node"]) == ("Generate Text", "text", False)
    assert info["input_order"] == {"required": list(REFERENCE_REQUIRED), "optional": list(REFERENCE_OPTIONAL)}
    assert info["input"]["required"] == REFERENCE_REQUIRED
    assert info["input"]["optional"] == REFERENCE_OPTIONAL
    assert info["output"] == ["STRING", "STRING"] and info["output_name"] == ["generated_text", "thinking"]


# -- sampling, against hand-computed values -------------------------------------------------------------------

def test_filters_follow_comfyui_order_and_hand_computed_values() -> None:
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0, 3.0]])
    # top-k 3 keeps ids 4, 0, 1 (in that order); probabilities softmax([3, 2, 1])
    probs, ids = processed_probs(logits.clone(), Sampling(True, top_k=3), None)
    assert ids is not None and ids.tolist() == [[4, 0, 1]]
    expected = torch.softmax(torch.tensor([3.0, 2.0, 1.0]), 0)
    assert torch.allclose(probs[0], expected)
    # min-p 0.3: drop those under 0.3 × the top probability (exp(-2)/… < 0.3·p_top) → only ids 4 and 0 remain
    probs, _ = processed_probs(logits.clone(), Sampling(True, top_k=3, min_p=0.3), None)
    assert probs[0, 2] == 0 and torch.allclose(probs[0, :2], torch.softmax(torch.tensor([3.0, 2.0]), 0))
    # top-p 0.6 over the whole vocabulary: the top token alone has p≈0.64 ≥ 0.6, so it is kept alone
    probs, ids = processed_probs(logits.clone(), Sampling(True, top_k=0, top_p=0.6), None)
    assert ids is None and probs[0].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]
    # temperature 2 halves the logits before the softmax
    probs, _ = processed_probs(logits.clone(), Sampling(True, top_k=0, temperature=2.0), None)
    assert torch.allclose(probs[0], torch.softmax(logits[0] / 2, 0))


def test_penalties_touch_only_seen_tokens() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5, 1.0]])
    seen = torch.tensor([True, True, False, False])
    probs, _ = processed_probs(logits.clone(), Sampling(True, top_k=0, repetition_penalty=2.0,
                                                         presence_penalty=0.5), seen)
    # id 0: 2 / 2 − 0.5 = 0.5; id 1: −1 × 2 − 0.5 = −2.5; ids 2 and 3 untouched
    assert torch.allclose(probs[0], torch.softmax(torch.tensor([0.5, -2.5, 0.5, 1.0]), 0))


def test_a_seeded_draw_is_one_multinomial_over_the_filtered_slice() -> None:
    logits = torch.randn(1, 50, generator=torch.Generator().manual_seed(0))
    sampling = Sampling(True, temperature=0.7, top_k=10, top_p=0.9, min_p=0.05, seed=3)
    probs, ids = processed_probs(logits.clone(), sampling, None)
    expected = int(ids[0, torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(3))[0, 0]])
    assert sample_token(logits.clone(), sampling, None, torch.Generator().manual_seed(3)) == expected
    assert sample_token(logits, Sampling(False), None, None) == int(logits.argmax())


# -- generation against transformers' generate ----------------------------------------------------------------

def _load(state: dict[str, torch.Tensor], path: Path) -> Any:
    td.save(state, path)
    (found,) = files.find_file(path)
    return files.load(path, found, torch.float32).eval()


def test_qwen3_greedy_equals_transformers_generate_with_tied_embeddings(tmp_path: Path) -> None:
    from transformers import Qwen3ForCausalLM

    encoder = _load(tl.comfy_llm_state(tl.qwen3(3)), tmp_path / "qwen_3_4b.safetensors")
    prompt = recipe("lumina2").generation_prompt({"qwen3_4b": encoder}, "hi", GenerateRequest())
    assert prompt.ids == qwen_tokenizer()("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")["input_ids"]
    ours = generate(encoder, prompt, 12, Sampling())
    lm = Qwen3ForCausalLM(encoder.config).eval()
    lm.model = encoder
    lm.lm_head.weight = encoder.embed_tokens.weight  # Qwen3-4B ties its LM head (ComfyUI's lm_head=False)
    ref = lm.generate(torch.tensor([prompt.ids]), max_new_tokens=12, do_sample=False,
                      eos_token_id=list(prompt.stop_tokens), pad_token_id=151643)
    assert ours == ref[0, len(prompt.ids):].tolist()


def test_gemma2_greedy_equals_transformers_generate(tmp_path: Path) -> None:
    from transformers import Gemma2ForCausalLM

    encoder = _load(tl.comfy_gemma_state(tl.gemma2(4)), tmp_path / "gemma_2_2b.safetensors")
    prompt = recipe("lumina2").generation_prompt({"gemma2_2b": encoder}, "a red fox", GenerateRequest())
    assert prompt.ids[0] == 2 and prompt.stop_tokens == (1,)
    ours = generate(encoder, prompt, 10, Sampling())
    lm = Gemma2ForCausalLM(encoder.config).eval()
    lm.model = encoder
    lm.lm_head.weight = encoder.embed_tokens.weight
    ref = lm.generate(torch.tensor([prompt.ids]), max_new_tokens=10, do_sample=False, eos_token_id=[1],
                      pad_token_id=0)
    assert ours == ref[0, len(prompt.ids):].tolist()
    assert isinstance(prompt.decode(ours), str)


def test_qwen25_vl_reads_the_image_and_uses_the_files_lm_head(tmp_path: Path) -> None:
    from transformers import Qwen2_5_VLForConditionalGeneration

    state = tq.comfy_qwen_vl_state(tq.qwen_vl(2))
    state["lm_head.weight"] = torch.randn(state["lm_head.weight"].shape, generator=torch.Generator().manual_seed(1))
    encoder = _load(state, tmp_path / "qwen_2.5_vl_7b.safetensors")
    image = torch.rand(1, 40, 56, 3, generator=torch.Generator().manual_seed(2))
    prompt = recipe("qwen_image").generation_prompt({"qwen25_7b": encoder}, "what is this",
                                                    GenerateRequest(images=[image]))
    chat = ("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>what is this<|im_end|>\n"
            "<|im_start|>assistant\n")
    assert prompt.ids == qwen_tokenizer()(chat)["input_ids"] and prompt.default_seed == 42
    ours = generate(encoder, prompt, 8, Sampling())
    full = Qwen2_5_VLForConditionalGeneration(encoder.config).eval()
    full.model = encoder
    full.lm_head.weight = torch.nn.Parameter(state["lm_head.weight"])
    inputs = prompt.prefill(encoder, prompt.ids, prompt.images)
    ref = full.generate(**inputs, max_new_tokens=8, do_sample=False, eos_token_id=list(prompt.stop_tokens),
                        pad_token_id=151643)
    assert ours == ref[0, inputs["input_ids"].shape[1]:].tolist()
    blind = generate(encoder, recipe("qwen_image").generation_prompt({"qwen25_7b": encoder}, "what is this",
                                                                     GenerateRequest()), 8, Sampling())
    assert blind != ours  # the picture changes the reply


def test_qwen_image_templates_as_comfyui_builds_them() -> None:
    build = recipe("qwen_image").generation_prompt
    tok = qwen_tokenizer()

    def text(request: GenerateRequest, prompt: str = "hi") -> str:
        return str(tok.decode(build({}, prompt, request).ids))

    assert text(GenerateRequest(system_prompt="Be brief.")) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
    assert text(GenerateRequest(use_default_template=False)) == "hi"
    two = [torch.zeros(1, 8, 8, 3)] * 2
    assert text(GenerateRequest(use_default_template=False, images=two), "<|im_start|>user\nhi") == (
        "<|im_start|>user\n" + "<|vision_start|><|image_pad|><|vision_end|>" * 2 + "hi")
    with pytest.raises(ValueError, match="video or audio"):
        build({}, "hi", GenerateRequest(video=torch.zeros(2, 8, 8, 3)))


def test_seeds_reproduce_and_differ(tmp_path: Path) -> None:
    encoder = _load(tl.comfy_llm_state(tl.qwen3(5)), tmp_path / "q.safetensors")
    prompt = recipe("lumina2").generation_prompt({"qwen3_4b": encoder}, "a cat", GenerateRequest())

    def run(seed: int) -> list[int]:
        return generate(encoder, prompt, 10, Sampling(True, 0.7, 64, 0.95, 0.05, 1.05, 0.0, seed))

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_reasoning_is_split_from_the_answer() -> None:
    assert split_thinking("<think>\nhmm\n</think>\n\nYes.", "q") == ("Yes.", "hmm")
    assert split_thinking("Plain answer.", "q") == ("Plain answer.", "")
    assert split_thinking("<think>cut sho", "q") == ("", "cut sho")  # max_length ended the reasoning
    assert split_thinking("still thinking</think>done", "<|im_start|>assistant\n<think>") == ("done", "still thinking")
    assert split_thinking("a </think> b", "q") == ("a </think> b", "")  # no opening: all of it is the answer


def test_clip_types_without_a_language_model_cannot_generate() -> None:
    with pytest.raises(ValueError, match="cannot generate text"):
        recipe("stable_diffusion").generation_prompt({}, "hi", GenerateRequest())


# -- the official template, end to end -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    root = tmp_path_factory.mktemp("textgen")
    td.save(tl.comfy_llm_state(tl.qwen3(1)), root / "models" / "text_encoders" / "qwen_3_4b.safetensors",
            dtype=torch.bfloat16)
    (root / "input").mkdir()
    return Runtime.create(Settings(base_dir=root, cache="none"))


def test_llm_qwen3_text_gen_template_runs_and_its_seed_reproduces(runtime: Runtime) -> None:
    ui = json.loads((TEMPLATES / "llm_qwen3_text_gen.json").read_text())
    prompt, _ = ui_to_api(ui, runtime.registry.get)
    (gen,) = [n for n in prompt.values() if n["class_type"] == "TextGenerate"]
    assert gen["inputs"]["sampling_mode"] == "on" and gen["inputs"]["sampling_mode.seed"] == 0
    gen["inputs"]["max_length"] = 16
    texts = []
    for _ in range(2):
        _, outcome = runtime.run(prompt)
        assert outcome.status_str == "success", outcome.error
        (shown,) = [o["text"][0] for o in outcome.outputs.values() if "text" in o]
        texts.append(shown)
    assert texts[0] == texts[1] and texts[0]


def test_greedy_text_through_the_node_equals_transformers(runtime: Runtime) -> None:
    from transformers import Qwen3ForCausalLM

    prompt = {"1": {"class_type": "CLIPLoader", "inputs": {"clip_name": "qwen_3_4b.safetensors", "type": "ltxv"}},
              "2": {"class_type": "TextGenerate", "inputs": {"clip": ["1", 0], "prompt": "hello", "max_length": 6,
                                                             "sampling_mode": "off"}},
              "3": {"class_type": "PreviewAny", "inputs": {"source": ["2", 0]}}}
    _, outcome = runtime.run(prompt)
    assert outcome.status_str == "success", outcome.error
    (shown,) = [o["text"][0] for o in outcome.outputs.values() if "text" in o]
    path = runtime.folders.model_path("text_encoders", "qwen_3_4b.safetensors")
    (found,) = files.find_file(path)
    encoder = files.load(path, found, torch.bfloat16).float().eval()
    lm = Qwen3ForCausalLM(encoder.config).eval()
    lm.model = encoder
    lm.lm_head.weight = encoder.embed_tokens.weight
    ids = qwen_tokenizer()("<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n")["input_ids"]
    ref = lm.generate(torch.tensor([ids]), max_new_tokens=6, do_sample=False, eos_token_id=[151643, 151645],
                      pad_token_id=151643)
    expected = qwen_tokenizer().decode(ref[0, len(ids):].tolist(), skip_special_tokens=True)
    assert shown == split_thinking(expected, "hello")[0]
