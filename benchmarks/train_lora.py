"""LoRA training speed and memory on CUDA: SDXL and Flux.1-dev at their real shapes, random weights.

Each model is built from its real architecture (SDXL: Inkgraph's shipped config; Flux.1-dev: 19 double and
38 single blocks, 3072 wide) with random weights on the device, handed to the model manager as a MODEL
handle, and trained by TrainLoraNode's own loop (``nodes.diffusion.train.loop.train``): rank 16, batch 1,
bf16 autocast, gradient checkpointing, AdamW (8-bit when bitsandbytes is installed). Flux's linear weights
are stored in fp8 (e4m3fn), as UNETLoader's ``weight_dtype`` stores them, so a Flux.1-dev LoRA at 512² fits
24 GB. Figures: steps/s over the timed steps (the first ``--warmup`` steps left out), the peak memory torch
allocated during training, and the model's own size.

Run (CUDA): ``python benchmarks/train_lora.py [--models sdxl flux] [--steps 12]``
CPU smoke run of the script itself (tiny shapes, what CI runs): ``python benchmarks/train_lora.py --device cpu
--tiny``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

FLUX_DEV = {"patch_size": 1, "in_channels": 64, "out_channels": 64, "num_layers": 19, "num_single_layers": 38,
            "attention_head_dim": 128, "num_attention_heads": 24, "joint_attention_dim": 4096,
            "pooled_projection_dim": 768, "guidance_embeds": True, "axes_dims_rope": (16, 56, 56)}
FLUX_TINY = {**FLUX_DEV, "num_layers": 1, "num_single_layers": 1, "attention_head_dim": 32, "num_attention_heads": 2,
             "joint_attention_dim": 64, "pooled_projection_dim": 32, "axes_dims_rope": (4, 14, 14)}
SDXL_TINY = {"sample_size": 8, "in_channels": 4, "out_channels": 4, "layers_per_block": 1,
             "block_out_channels": (32, 64), "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
             "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"), "attention_head_dim": (2, 4),
             "use_linear_projection": True, "addition_embed_type": "text_time", "addition_time_embed_dim": 8,
             "transformer_layers_per_block": (1, 2), "projection_class_embeddings_input_dim": 6 * 8 + 48,
             "cross_attention_dim": 80, "norm_num_groups": 32}


class Timer:
    """The training loop's hooks: the time of each optimizer step, nothing saved."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def progress(self, done: int, total: int, loss: float) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()  # the step's kernels have finished
        self.times.append(time.perf_counter())

    def checkpoint(self, lora: Callable[[], dict[str, torch.Tensor]], steps: int, final: bool) -> None:
        return None


def build(name: str, tiny: bool, device: str, dtype: torch.dtype) -> tuple[Any, Any, list[Any], list[Any]]:
    """(network, Family, latents, conditionings) of one model at its real (or tiny) shape."""
    from inkgraph.nodes.diffusion.families import Family, by_name
    from inkgraph.nodes.diffusion.families.base import Detected

    generator = torch.Generator().manual_seed(0)
    with torch.device(device):
        if name == "sdxl":
            from diffusers import UNet2DConditionModel

            from inkgraph.nodes.diffusion.checkpoint import shipped_configs

            config = dict(SDXL_TINY if tiny else shipped_configs("sdxl_base")["unet"])
            network = UNet2DConditionModel(**{k: v for k, v in config.items() if not k.startswith("_")})
            side, context, pooled, channels, tokens = (8, 80, 48, 4, 77) if tiny else (128, 2048, 1280, 4, 77)
        else:
            from diffusers import FluxTransformer2DModel

            config = dict(FLUX_TINY if tiny else FLUX_DEV)
            network = FluxTransformer2DModel(**config)
            side, context, pooled, channels, tokens = (8, 64, 32, 16, 16) if tiny else (64, 4096, 768, 16, 512)
    network = network.to(dtype).eval().requires_grad_(False)
    if name == "flux" and device.startswith("cuda"):
        from inkgraph.nodes.diffusion.weights import quantize_linears

        quantize_linears(network, torch.float8_e4m3fn)  # UNETLoader's fp8_e4m3fn weight_dtype
    family = Family(kind=name, detected=Detected(by_name(name), config, ""))
    latents = [{"samples": torch.randn(1, channels, side, side, generator=generator)}]
    options: dict[str, Any] = {"pooled_output": torch.randn(1, pooled, generator=generator)}
    if name == "flux":
        options["guidance"] = 3.5
    conds = [[[torch.randn(1, tokens, context, generator=generator), options]]]
    return network, family, latents, conds


def bench(name: str, args: argparse.Namespace) -> dict[str, Any]:
    from inkgraph.engine.core.devices import DevicePolicy, ModelManager, module_nbytes
    from inkgraph.nodes.diffusion.handles import ModelHandle
    from inkgraph.nodes.diffusion.train.loop import TrainOptions, train
    from inkgraph.nodes.training import _samples

    dtype = torch.float32 if args.device == "cpu" else torch.bfloat16
    cuda = args.device.startswith("cuda")
    network, family, latents, conds = build(name, args.tiny, args.device, dtype)
    size = module_nbytes(network)
    manager = ModelManager.with_policy(DevicePolicy.detect(args.device, "fp32" if args.device == "cpu" else "bf16"))
    manager.add(("bench", name), network)
    handle = ModelHandle(manager, ("bench", name), family)
    options = TrainOptions(batch_size=1, steps=args.warmup + args.steps, learning_rate=1e-4, rank=args.rank,
                           training_dtype="fp32" if args.device == "cpu" else "bf16",
                           lora_dtype="fp32" if args.device == "cpu" else "bf16", gradient_checkpointing=True,
                           checkpoint_depth=1, seed=0)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    timer = Timer()
    started = time.perf_counter()
    result = train(handle, _samples(latents, conds), options, timer)
    if cuda:
        torch.cuda.synchronize()
    total = time.perf_counter() - started
    timed = timer.times[args.warmup:] if len(timer.times) > args.warmup + 1 else timer.times
    rate = (len(timed) - 1) / (timed[-1] - timed[0]) if len(timed) > 1 else float("nan")
    peak = torch.cuda.max_memory_allocated() if cuda else 0
    figures = {"model": name, "shape": "tiny" if args.tiny else "real", "device": args.device, "rank": args.rank,
               "steps_per_s": round(rate, 3), "peak_gib": round(peak / 2**30, 2), "model_gib": round(size / 2**30, 2),
               "lora_tensors": len(result.lora), "losses_finite": all(v == v for v in result.losses),
               "wall_s": round(total, 1)}
    del network, handle, manager, result
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return figures


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["sdxl", "flux"], choices=["sdxl", "flux"])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny shapes (a smoke run of the script)")
    parser.add_argument("--steps", type=int, default=12, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=2, help="steps left out of the rate")
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("no CUDA device: run with --device cpu --tiny for a smoke run")
    if args.device == "cpu":
        torch.set_num_threads(1)
        args.steps, args.warmup = (min(args.steps, 3), min(args.warmup, 1)) if args.tiny else (args.steps, args.warmup)
    rows = [bench(name, args) for name in args.models]
    print(f"{'model':6} {'shape':5} {'device':7} {'rank':>4} {'steps/s':>8} {'peak GiB':>9} {'model GiB':>9}")
    for row in rows:
        print(f"{row['model']:6} {row['shape']:5} {row['device']:7} {row['rank']:>4} {row['steps_per_s']:>8} "
              f"{row['peak_gib']:>9} {row['model_gib']:>9}")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
