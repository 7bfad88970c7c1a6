"""Flux.1-dev at 1024²: it/s, first-step latency, load time and peak VRAM through the engine — when the Flux
family exists in ``nodes/diffusion/families`` (the model-layer issue adds it); otherwise a clear
"not available" line.

The model is Flux.1-dev's architecture (19 double and 38 single blocks of width 3072: 11.9 B parameters)
with random weights, written in bf16 in Black Forest Labs' own key layout, as flux1-dev.safetensors is
distributed — 24 GB, so the full mode only. The text encoders are left out: the conditioning (T5 tokens,
CLIP's pooled vector, the distilled guidance) is drawn at random by a node of the check, which isolates
what the figure is about, the transformer's speed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .. import fixtures as fx
from ..context import SectionContext

FLUX_DEV = {"width": 3072, "heads": 24, "double": 19, "single": 38, "mlp": 4, "in_channels": 64, "context": 4096,
            "pooled": 768, "guidance": True}


def run(ctx: SectionContext) -> None:
    from inkgraph.nodes.diffusion import families

    names = [family.name for family in families.FAMILIES]
    if not any(name.startswith("flux") for name in names):
        ctx.skip(f"Flux.1-dev: not available — no Flux family in nodes/diffusion/families (this build knows "
                 f"{', '.join(names)}); it arrives with the model-layer issue")
    missing = [node for node in ("UNETLoader", "KSampler") if node not in fx.registry()]
    if missing:
        ctx.skip(f"Flux.1-dev: not available — the Flux family exists but {', '.join(missing)} does not")
    if not ctx.cuda:
        ctx.skip("Flux.1-dev: 12 B parameters — a GPU check only")
    if ctx.quick:
        ctx.skip("Flux.1-dev: 24 GB of weights to write and load — full mode only")
    path = fx.base_dir(ctx) / "models" / "diffusion_models" / "random_flux1_dev.safetensors"
    if not path.exists():
        free = fx.free_gib(path.parent)
        if free < 30:
            ctx.skip(f"Flux.1-dev: {free:.0f} GiB free in {path.parent}, 30 GiB needed")
        seconds = write_random(path, ctx.device, FLUX_DEV)
        ctx.metric("Flux.1-dev random file written", round(seconds, 1), "s", f"{path.stat().st_size / 2**30:.1f} GiB")
    runtime = fx.engine(ctx, ctx.device, "bf16")
    rows = [fx.timed_run(runtime, graph(path.name, 1024, 20 if seed else 4, seed), True) for seed in range(2)]
    cold, warm = rows
    ctx.metric("Flux.1-dev: load (first run)", round(cold["load_s"], 1), "s")
    ctx.metric("Flux.1-dev 1024²: first step, cold", round(cold["first_step_s"], 2), "s")
    ctx.metric("Flux.1-dev 1024²: first step, warm", round(warm["first_step_s"], 3), "s")
    ctx.metric("Flux.1-dev 1024²: sampling", round(warm["it_s"], 3), "it/s", "20 steps, euler, bf16")
    ctx.metric("Flux.1-dev 1024²: peak VRAM", round(warm["peak_vram_gib"], 2), "GiB")
    runtime.models.unload_all()


def shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Every tensor of a Flux transformer in BFL's layout (ComfyUI's ``comfy/ldm/flux`` names), by shape."""
    w, head = config["width"], config["width"] // config["heads"]
    hidden = w * config["mlp"]
    out: dict[str, tuple[int, ...]] = {}

    def linear(name: str, n_in: int, n_out: int) -> None:
        out[f"{name}.weight"], out[f"{name}.bias"] = (n_out, n_in), (n_out,)

    linear("img_in", config["in_channels"], w)
    linear("txt_in", config["context"], w)
    for embedder, width_in in (("time_in", 256), ("vector_in", config["pooled"])) + \
            ((("guidance_in", 256),) if config["guidance"] else ()):
        linear(f"{embedder}.in_layer", width_in, w)
        linear(f"{embedder}.out_layer", w, w)
    for i in range(config["double"]):
        for side in ("img", "txt"):
            block = f"double_blocks.{i}.{side}"
            linear(f"{block}_mod.lin", w, 6 * w)
            linear(f"{block}_attn.qkv", w, 3 * w)
            out[f"{block}_attn.norm.query_norm.scale"] = out[f"{block}_attn.norm.key_norm.scale"] = (head,)
            linear(f"{block}_attn.proj", w, w)
            linear(f"{block}_mlp.0", w, hidden)
            linear(f"{block}_mlp.2", hidden, w)
    for i in range(config["single"]):
        block = f"single_blocks.{i}"
        linear(f"{block}.linear1", w, 3 * w + hidden)
        linear(f"{block}.linear2", w + hidden, w)
        out[f"{block}.norm.query_norm.scale"] = out[f"{block}.norm.key_norm.scale"] = (head,)
        linear(f"{block}.modulation.lin", w, 3 * w)
    linear("final_layer.linear", w, config["in_channels"])
    linear("final_layer.adaLN_modulation.1", w, 2 * w)
    return out


def write_random(path: Path, device: str, config: dict[str, Any], seed: int = 0) -> float:
    """Random bf16 weights drawn on ``device`` (norm scales 1, the rest N(0, 1/fan_in)), saved; seconds taken."""
    import time

    from safetensors.torch import save_file

    started = time.perf_counter()
    generator = torch.Generator(device).manual_seed(seed)
    state = {}
    for key, shape in shapes(config).items():
        if key.endswith(".scale"):
            tensor = torch.ones(shape, dtype=torch.bfloat16)
        else:
            fan_in = shape[1] if len(shape) == 2 else shape[0]
            tensor = (torch.randn(shape, generator=generator, device=device) * fan_in**-0.5).to(torch.bfloat16).cpu()
        state[key] = tensor
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))
    return time.perf_counter() - started


def graph(unet_name: str, size: int, steps: int, seed: int) -> dict[str, Any]:
    """UNETLoader → KSampler (cfg 1, as Flux dev is guidance-distilled) on random conditioning, 16-channel latent."""
    condition: dict[str, Any] = {"class_type": "GpuCheckRandomConditioning",
                 "inputs": {"tokens": 512, "width": FLUX_DEV["context"], "pooled": FLUX_DEV["pooled"],
                            "guidance": 3.5, "seed": seed}}
    return {
        "4": {"class_type": "UNETLoader", "inputs": {"unet_name": unet_name, "weight_dtype": "default"}},
        "5": {"class_type": "GpuCheckEmptyLatent", "inputs": {"channels": 16, "width": size, "height": size}},
        "6": condition,
        "7": {**condition, "inputs": {**condition["inputs"], "seed": seed + 1000}},
        "3": {"class_type": "KSampler", "inputs": {"seed": seed, "steps": steps, "cfg": 1.0, "sampler_name": "euler",
                                                   "scheduler": "simple", "denoise": 1.0, "model": ["4", 0],
                                                   "positive": ["6", 0], "negative": ["7", 0],
                                                   "latent_image": ["5", 0]}},
        "20": {"class_type": "GpuCheckCapture", "inputs": {"value": ["3", 0], "label": "latent"}},
    }
