"""Speed and memory of the transformer families on a GPU: Flux.1-dev, SD3.5 large, Z-Image Turbo and Flux.2 klein
4B / 9B at 1024², each in bf16 and with fp8 weights (UNETLoader's weight_dtype fp8_e4m3fn: linear weights stored
in one byte, computed in bf16). Prints it/s, peak VRAM and load time per row; ``--out`` also writes them as JSON.

The models are the real architectures with random weights (norm scales 1, the rest N(0, 1/fan_in)), written as
the single files users download — Black Forest Labs' layout for Flux.1-dev (11.9 B parameters, 24 GB), Stability's
MMDiT layout for SD3.5 large (8.1 B, 16 GB), Z-Image's own for Z-Image Turbo (6.2 B, 12 GB), BFL's for Flux.2 klein
4B and 9B (3.9 B and 9.1 B) — one at a time into ``--work`` (deleted after its rows unless ``--keep``), then
loaded through the engine: UNETLoader → KSampler (each family's official template settings: Flux dev 20 steps
euler cfg 1, SD3.5 large 20 steps euler sgm_uniform cfg 4, Z-Image Turbo 8 steps res_multistep cfg 1, klein 4
steps euler cfg 1) on random text conditioning of the real widths and lengths, so the figures are the diffusion
model's alone. Steps are timed with the device synchronised at each one; it/s leaves the first step out.

Usage::

    python benchmarks/gpu_families.py                          # CUDA: all five families, bf16 and fp8
    python benchmarks/gpu_families.py --families z_image_turbo --weights fp8 --out /tmp/families
    python benchmarks/gpu_families.py --families qwen_image     # Qwen-Image 20B + Qwen2.5-VL 7B in fp8
    python benchmarks/gpu_families.py --device cpu --tiny      # smoke mode: tiny models in the same layouts (CI)

CUDA only, but for the smoke mode, which runs the same code on tiny models (64² pixels, 2 steps) so it cannot
rot. Nothing is downloaded; HF_HUB_OFFLINE is set.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout: inkgraph/, tests/, benchmarks/
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

WEIGHTS = {"bf16": "default", "fp8": "fp8_e4m3fn"}


@dataclass(frozen=True)
class Case:
    """One family as its official template runs it, and how its random file is made."""

    name: str
    title: str
    file: str
    steps: int
    cfg: float
    sampler: str
    scheduler: str
    tokens: int  # the text conditioning's length and width, the pooled vector's width
    context: int
    pooled: int
    full: dict[str, Any] = field(default_factory=dict)  # the real architecture (diffusers config)
    tiny: dict[str, Any] = field(default_factory=dict)
    channels: int = 16  # the latent's channels and pixels per latent cell (Flux.2: 128 at 1/16)
    downscale: int = 8


FLUX2_TINY = {"patch_size": 1, "in_channels": 128, "num_layers": 1, "num_single_layers": 2, "attention_head_dim": 32,
              "num_attention_heads": 2, "joint_attention_dim": 48, "axes_dims_rope": (8, 8, 8, 8),
              "guidance_embeds": False}
CASES = {case.name: case for case in (
    Case("flux_dev", "Flux.1-dev", "flux1-dev.safetensors", 20, 1.0, "euler", "simple", 512, 4096, 768,
         full={"num_layers": 19, "num_single_layers": 38, "attention_head_dim": 128, "num_attention_heads": 24,
               "joint_attention_dim": 4096, "pooled_projection_dim": 768, "guidance_embeds": True},
         tiny={"num_layers": 1, "num_single_layers": 2, "attention_head_dim": 32, "num_attention_heads": 2,
               "joint_attention_dim": 64, "pooled_projection_dim": 32, "guidance_embeds": True,
               "axes_dims_rope": (4, 14, 14)}),
    Case("sd35_large", "SD3.5 large", "sd3.5_large.safetensors", 20, 4.0, "euler", "sgm_uniform", 154, 4096, 2048,
         full={"sample_size": 128, "patch_size": 2, "in_channels": 16, "num_layers": 38, "attention_head_dim": 64,
               "num_attention_heads": 38, "joint_attention_dim": 4096, "caption_projection_dim": 2432,
               "pooled_projection_dim": 2048, "out_channels": 16, "pos_embed_max_size": 192, "qk_norm": "rms_norm"},
         tiny={"sample_size": 16, "patch_size": 2, "in_channels": 16, "num_layers": 2, "attention_head_dim": 16,
               "num_attention_heads": 2, "joint_attention_dim": 64, "caption_projection_dim": 32,
               "pooled_projection_dim": 64, "out_channels": 16, "pos_embed_max_size": 16, "qk_norm": "rms_norm"}),
    Case("z_image_turbo", "Z-Image Turbo", "z_image_turbo_bf16.safetensors", 8, 1.0, "res_multistep", "simple", 128,
         2560, 2560, full={},
         tiny={"dim": 64, "n_layers": 1, "n_refiner_layers": 1, "n_heads": 2, "n_kv_heads": 2, "cap_feat_dim": 16,
               "axes_dims": [8, 12, 12]}),
    # Flux.2 klein (distilled: 4 steps, cfg 1, as image_flux2_klein_text_to_image), Qwen3's three layers as context
    Case("flux2_klein_4b", "Flux.2 klein 4B", "flux-2-klein-4b.safetensors", 4, 1.0, "euler", "simple", 512, 7680, 0,
         full={"num_layers": 5, "num_single_layers": 20, "num_attention_heads": 24, "joint_attention_dim": 7680,
               "guidance_embeds": False},
         tiny=FLUX2_TINY, channels=128, downscale=16),
    Case("flux2_klein_9b", "Flux.2 klein 9B", "flux-2-klein-9b.safetensors", 4, 1.0, "euler", "simple", 512, 12288, 0,
         full={"num_layers": 8, "num_single_layers": 24, "num_attention_heads": 32, "joint_attention_dim": 12288,
               "guidance_embeds": False},
         tiny=FLUX2_TINY, channels=128, downscale=16),
)}
TINY_CONTEXT = {"flux_dev": (8, 64, 32), "sd35_large": (8, 64, 64), "z_image_turbo": (8, 16, 16),
                "flux2_klein_4b": (8, 48, 0), "flux2_klein_9b": (8, 48, 0)}
# Families measured by a function of their own (name → rows), beside the file-and-engine cases above; their
# rows are printed as JSON lines and kept in --out's results.json.
def _qwen_image() -> list[dict[str, Any]]:
    from benchmarks.gpu_families_qwen import qwen_image_rows

    return qwen_image_rows()


EXTRA: dict[str, Callable[[], list[dict[str, Any]]]] = {"qwen_image": _qwen_image}


def original_shapes(case: Case, tiny: bool) -> dict[str, tuple[int, ...]]:
    """Every tensor of the family's single file (its original key layout) with its shape, from the diffusers
    model built on the meta device and the inverse of the loader's renaming (tests/fixtures)."""
    from diffusers import (
        Flux2Transformer2DModel,
        FluxTransformer2DModel,
        SD3Transformer2DModel,
        ZImageTransformer2DModel,
    )

    from tests.fixtures import tiny_dit, tiny_flux2, tiny_lumina

    config = case.tiny if tiny else case.full
    with torch.device("meta"):
        if case.name.startswith("flux2_"):
            state = tiny_flux2.flux2_state(Flux2Transformer2DModel(**config))
        elif case.name == "flux_dev":
            state = tiny_dit.flux_state(FluxTransformer2DModel(**config))
        elif case.name == "sd35_large":
            state = tiny_dit.sd3_state(SD3Transformer2DModel(**config))
        else:
            state = tiny_lumina.z_image_state(ZImageTransformer2DModel(**config))
    return {key: tuple(value.shape) for key, value in state.items()}


def write_random(path: Path, shapes: dict[str, tuple[int, ...]], device: str, seed: int = 0) -> float:
    """Random bf16 weights drawn on ``device`` (norm weights 1, the rest N(0, 1/fan_in)), saved as one
    safetensors file; seconds taken."""
    from safetensors.torch import save_file

    started = time.perf_counter()
    generator = torch.Generator(device).manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if "norm" in key or key.endswith(".scale"):
            state[key] = torch.ones(shape, dtype=torch.bfloat16)
        else:
            fan_in = shape[1] if len(shape) >= 2 else shape[0]
            state[key] = (torch.randn(shape, generator=generator, device=device) * fan_in ** -0.5).to(
                torch.bfloat16).cpu()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    save_file(state, str(partial))
    partial.rename(path)
    del state
    gc.collect()
    return time.perf_counter() - started


def graph(case: Case, weight_dtype: str, size: int, steps: int, tiny: bool) -> dict[str, Any]:
    """UNETLoader → KSampler on random conditioning (positive and negative) and an empty 16-channel latent."""
    tokens, width, pooled = TINY_CONTEXT[case.name] if tiny else (case.tokens, case.context, case.pooled)
    condition: dict[str, Any] = {"class_type": "GpuCheckRandomConditioning",
                                 "inputs": {"tokens": tokens, "width": width, "pooled": pooled, "guidance": 3.5,
                                            "seed": 1}}
    return {
        "4": {"class_type": "UNETLoader", "inputs": {"unet_name": case.file, "weight_dtype": weight_dtype}},
        "5": {"class_type": "GpuCheckEmptyLatent", "inputs": {"channels": case.channels,
                                                              "width": size * 8 // case.downscale,
                                                              "height": size * 8 // case.downscale}},
        "6": condition,
        "7": {**condition, "inputs": {**condition["inputs"], "seed": 2}},
        "3": {"class_type": "KSampler", "inputs": {
            "seed": 3, "steps": steps, "cfg": case.cfg, "sampler_name": case.sampler, "scheduler": case.scheduler,
            "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "20": {"class_type": "GpuCheckCapture", "inputs": {"value": ["3", 0], "label": "latent"}},
    }


def measure(case: Case, work: Path, device: str, weights: list[str], tiny: bool, keep: bool) -> list[dict[str, Any]]:
    """The family's rows: its random file written once, then one engine run per weight mode."""
    from benchmarks.gpucheck import fixtures as fx
    from inkgraph.engine.core.settings import Settings
    from inkgraph.engine.runtime import Runtime

    cuda = device.startswith("cuda")
    path = work / "models" / "diffusion_models" / case.file
    written = None
    if not path.exists():
        written = write_random(path, original_shapes(case, tiny), device if cuda else "cpu")
    size, steps = (64, 2) if tiny else (1024, case.steps)
    rows = []
    for mode in weights:
        settings = Settings(base_dir=work, device=device, dtype="fp32" if not cuda else "bf16", cache="none",
                            preview_method="none", custom_nodes=False)
        runtime = Runtime.create(settings, registry=fx.registry())
        timed = fx.timed_run(runtime, graph(case, WEIGHTS[mode], size, steps, tiny), cuda)
        latent = fx.CAPTURED.get("latent")
        stored = next(m.weight.dtype for m in fx.component(runtime, "unet").modules() if isinstance(m, torch.nn.Linear))
        rows.append({"family": case.title, "weights": mode, "compute": settings.dtype, "size": f"{size}²",
                     "steps": steps, "sampler": f"{case.sampler}/{case.scheduler}", "cfg": case.cfg,
                     "linear_weights": str(stored).removeprefix("torch."), "it_s": round(timed["it_s"], 3),
                     "peak_vram_gib": round(timed["peak_vram_gib"], 2) if cuda else None,
                     "load_s": round(timed["load_s"], 2), "wall_s": round(timed["wall_s"], 2),
                     "file_gib": round(path.stat().st_size / 2**30, 3),
                     "file_written_s": round(written, 1) if written is not None else None,
                     "finite": bool(torch.isfinite(latent).all()) if isinstance(latent, torch.Tensor) else None})
        runtime.models.unload_all()
        del runtime
        fx.release()
    if not keep:
        path.unlink()
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| family | weights (linear layers) | compute | size | steps | sampler | it/s | peak VRAM (GiB) "
             "| load (s) | file (GiB) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        vram = "—" if r["peak_vram_gib"] is None else r["peak_vram_gib"]
        lines.append(f"| {r['family']} | {r['weights']} ({r['linear_weights']}) | {r['compute']} | {r['size']} "
                     f"| {r['steps']} | {r['sampler']} cfg {r['cfg']} | {r['it_s']} | {vram} | {r['load_s']} "
                     f"| {r['file_gib']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cuda:N; cpu only with --tiny")
    parser.add_argument("--tiny", action="store_true", help="tiny models, 64² pixels, 2 steps: the smoke mode")
    parser.add_argument("--families", default=",".join(CASES), help=f"comma-separated: {', '.join(CASES)}")
    parser.add_argument("--weights", default="bf16,fp8", help="comma-separated: bf16 (default weights), fp8")
    parser.add_argument("--work", type=Path, help="where the random files are written (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the random files in --work")
    parser.add_argument("--out", type=Path, help="write the rows as JSON (results.json) and Markdown (results.md)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        print("gpu_families: CUDA is not available; this benchmark measures GPUs (--device cpu --tiny runs its smoke "
              "mode)", file=sys.stderr)
        return 2
    if not cuda and not args.tiny:
        print("gpu_families: full-size models on a CPU would take hours; use --tiny", file=sys.stderr)
        return 2
    families = [name.strip() for name in args.families.split(",") if name.strip()]
    weights = [name.strip() for name in args.weights.split(",") if name.strip()]
    unknown = [n for n in families if n not in CASES and n not in EXTRA] + [w for w in weights if w not in WEIGHTS]
    if unknown:
        print(f"gpu_families: unknown {', '.join(unknown)}", file=sys.stderr)
        return 2
    if cuda:
        print(f"# {torch.cuda.get_device_name(args.device)}, torch {torch.__version__}", flush=True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gpu_families_") as scratch:
        work = args.work or Path(scratch)
        for name in families:
            if name in EXTRA:
                extra = EXTRA[name]() if cuda else []
                for row in extra:
                    print(json.dumps(row), flush=True)
                rows += extra
                continue
            found = measure(CASES[name], work, args.device, weights, args.tiny, args.keep)
            for row in found:
                print(f"{row['family']} {row['weights']}: {row['it_s']} it/s, peak {row['peak_vram_gib']} GiB, "
                      f"load {row['load_s']} s", flush=True)
            rows += found
    print(table([row for row in rows if "it_s" in row]))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
        (args.out / "results.md").write_text(table([row for row in rows if "it_s" in row]) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
