"""A handful of each real pack's image, mask, string and sampling nodes, and what their documentation says they
give (``benchmarks/pack_compat.py`` runs them after loading the pack).

Each case is a prompt fragment run through Inkgraph's engine (validation, lists, the V1/V3 adapters and the
model facades) on a tiny SD1 checkpoint and LoRA; a probe node captures the outputs, and ``expect`` compares
them with the documented result: an explicit value (a flipped image, a joined string), or the output of the
built-in node the pack node is documented to match (its KSampler variant at variation strength 0, its LoRA
stack against LoraLoader). ``expect`` returns ``(same, note)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import torch

from inkgraph.engine import Context, NodeOutput, Socket, node

Captured = dict[str, Any]


@dataclass
class Case:
    node: str  # the pack node under test
    prompt: dict[str, Any]  # node id → prompt entry (may use the shared graph below)
    probes: dict[str, list[Any]]  # label → [node id, output index]
    expect: Callable[[Captured], tuple[bool, str]]
    uses_model: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def image(seed: int = 0, height: int = 32, width: int = 48) -> torch.Tensor:
    return torch.rand(1, height, width, 3, generator=torch.Generator().manual_seed(seed))


def binary_mask(seed: int = 0, height: int = 32, width: int = 48) -> torch.Tensor:
    return (torch.rand(1, height, width, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


def equal(a: Any, b: Any, tol: float = 0.0) -> tuple[bool, str]:
    if isinstance(a, dict) and "samples" in a:
        a = a["samples"]
    if isinstance(b, dict) and "samples" in b:
        b = b["samples"]
    if isinstance(a, list) and a and isinstance(a[0], list):  # CONDITIONING: the tensors
        a, b = a[0][0], b[0][0]
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        a, b = torch.as_tensor(a).float(), torch.as_tensor(b).float()
        if a.shape != b.shape:
            return False, f"shape {tuple(a.shape)} vs {tuple(b.shape)}"
        diff = float((a - b).abs().max()) if a.numel() else 0.0
        return diff <= tol, "" if diff == 0 else f"max difference {diff:.2g}"
    return a == b, "" if a == b else f"{a!r} vs {b!r}"


def const(value: Any) -> dict[str, Any]:
    """A prompt entry giving ``value`` (the benchmark's constant node: tensors, dicts, anything)."""
    return {"class_type": "BenchConstant", "inputs": {"key": register(value)}}


_VALUES: dict[str, Any] = {}


def register(value: Any) -> str:
    key = f"v{len(_VALUES)}"
    _VALUES[key] = value
    return key


def value_of(key: str) -> Any:
    return _VALUES[key]


SAMPLING = {"seed": 5, "steps": 3, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0}


def base_graph() -> dict[str, Any]:
    """A tiny checkpoint, two prompts, an empty 64² latent, and the built-in KSampler ("ks") over them."""
    return {
        "ckpt": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny_sd1.safetensors"}},
        "pos": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red circle", "clip": ["ckpt", 1]}},
        "neg": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["ckpt", 1]}},
        "empty": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "ks": {"class_type": "KSampler", "inputs": {**SAMPLING, "model": ["ckpt", 0], "positive": ["pos", 0],
                                                   "negative": ["neg", 0], "latent_image": ["empty", 0]}},
    }


def lora_reference(prompt: dict[str, Any], model: list[Any], clip: list[Any]) -> None:
    """Adds the built-in LoraLoader at 0.8 ("lora_ref") and KSampler / CLIPTextEncode over both pipelines."""
    prompt["lora_ref"] = {"class_type": "LoraLoader", "inputs": {"model": ["ckpt", 0], "clip": ["ckpt", 1],
                                                                "lora_name": "style.safetensors",
                                                                "strength_model": 0.8, "strength_clip": 0.8}}
    for name, m, c in (("ref", ["lora_ref", 0], ["lora_ref", 1]), ("pack", model, clip)):
        prompt[f"pos_{name}"] = {"class_type": "CLIPTextEncode", "inputs": {"text": "a red circle", "clip": c}}
        prompt[f"ks_{name}"] = {"class_type": "KSampler", "inputs": {
            **SAMPLING, "model": m, "positive": [f"pos_{name}", 0], "negative": ["neg", 0],
            "latent_image": ["empty", 0]}}


def lora_case(node: str, entry: dict[str, Any], model: list[Any], clip: list[Any]) -> Case:
    prompt = {**base_graph(), "pack": entry}
    lora_reference(prompt, model, clip)

    def expect(c: Captured) -> tuple[bool, str]:
        same_latent, note = equal(c["ks_ref"], c["ks_pack"])
        same_cond, note2 = equal(c["pos_ref"], c["pos_pack"])
        changed = not equal(c["ks"], c["ks_ref"])[0]
        return same_latent and same_cond and changed, (note or note2) + ("" if changed else " (LoRA had no effect)")

    return Case(node, prompt, {"ks": ["ks", 0], "ks_ref": ["ks_ref", 0], "ks_pack": ["ks_pack", 0],
                               "pos_ref": ["pos_ref", 0], "pos_pack": ["pos_pack", 0]}, expect, uses_model=True)


def simple(node: str, inputs: dict[str, Any], outputs: dict[str, Any], tol: float = 0.0,
           constants: dict[str, Any] | None = None) -> Case:
    """One node with constant inputs (tensors given through BenchConstant nodes) and expected outputs by index."""
    prompt: dict[str, Any] = {}
    resolved = dict(inputs)
    for name, value in (constants or {}).items():
        prompt[f"c_{name}"] = const(value)
        resolved[name] = [f"c_{name}", 0]
    prompt["pack"] = {"class_type": node, "inputs": resolved}

    def expect(c: Captured) -> tuple[bool, str]:
        for label, wanted in outputs.items():
            ok, note = equal(c[label], wanted, tol)
            if not ok:
                return False, f"output {label}: {note}"
        return True, ""

    return Case(node, prompt, {str(i): ["pack", int(i)] for i in outputs}, expect)


def versus(node: str, entry: dict[str, Any], builtin: dict[str, Any], tol: float = 0.0, index: int = 0,
           constants: dict[str, Any] | None = None, model: bool = False) -> Case:
    """A pack node against the built-in node it is documented to match (same inputs)."""
    prompt: dict[str, Any] = base_graph() if model else {}
    for name, value in (constants or {}).items():
        prompt[f"c_{name}"] = const(value)
    prompt["pack"], prompt["builtin"] = entry, builtin

    def expect(c: Captured) -> tuple[bool, str]:
        return equal(c["builtin"], c["pack"], tol)

    return Case(node, prompt, {"pack": ["pack", index], "builtin": ["builtin", 0]}, expect, uses_model=model)


def cases(pack: str) -> list[Case]:
    from pack_cases_by_pack import CASES  # the per-pack lists (benchmarks/pack_cases_by_pack.py)

    return [make() for make in CASES.get(pack, [])]


def bench_nodes(captured: Captured) -> list[Any]:
    """BenchConstant (any Python value into a prompt) and BenchProbe (captures a value) for the cases."""

    @node(category="benchmark")
    def BenchConstant(key: str) -> Annotated[Any, Socket(type="*")]:  # noqa: N802
        return value_of(key)

    @node(category="benchmark", output_node=True, outputs=[])
    def BenchProbe(ctx: Context, value: Annotated[Any, Socket(type="*")], label: str) -> NodeOutput:  # noqa: N802
        captured[label] = value
        return NodeOutput(ui={})

    return [BenchConstant, BenchProbe]
