"""Full-size SD1.5 and SDXL speed on CUDA: it/s and peak VRAM through the real engine path.

For each model the script builds the full architecture from Inkgraph's shipped configs with random weights,
writes it as a single .safetensors file in the original LDM layout (no embedded configs, as real downloads
are), and runs an ordinary txt2img workflow: CheckpointLoaderSimple → CLIPTextEncode ×2 → EmptyLatentImage →
KSampler (euler, normal, cfg 7) → VAEDecode → PreviewImage. The loader detects the family from the keys and
uses the shipped config, exactly as for a downloaded checkpoint.

Figures per model: load (first run's loader time), sampling it/s (from the KSampler's progress events, first
step left out), the whole workflow's wall time, and the peak VRAM torch allocated during the timed run.
The workflow runs ``--runs`` times (seed changed each time, so only the KSampler and what follows re-run);
the first is a warm-up and the best of the rest is reported.

Run (CUDA): ``python benchmarks/gpu_sd15.py [--models sd15 sdxl] [--steps 20] [--compile]``
A CPU smoke run of the script itself: ``python benchmarks/gpu_sd15.py --device cpu --dtype fp32 --models sd15
--size 64 --steps 2 --runs 2``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from inkgraph.engine.core.events import Executing, Progress  # noqa: E402
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime  # noqa: E402

MODELS = {"sd15": ("sd1", "sd15", 512), "sdxl": ("sdxl", "sdxl_base", 1024)}  # name: (kind, configs, size)


def write_random_checkpoint(name: str, path: Path, device: str, dtype: torch.dtype) -> None:
    """Full-size random-weight models from the shipped configs, saved in the original single-file layout."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from inkgraph.nodes.diffusion.checkpoint import shipped_configs
    from tests.fixtures.tiny_sd import ldm_state_dict

    kind, folder, _ = MODELS[name]
    configs = shipped_configs(folder)
    torch.manual_seed(0)
    with torch.device(device):  # initialising on the GPU takes seconds, on the CPU minutes
        models: dict[str, Any] = {
            "unet": UNet2DConditionModel.from_config(configs["unet"]).to(dtype),
            "vae": AutoencoderKL.from_config(configs["vae"]).to(dtype),
            "text_encoder": CLIPTextModel(CLIPTextConfig(**configs["text_encoder"])).to(dtype),
        }
        if "text_encoder_2" in configs:
            models["text_encoder_2"] = CLIPTextModelWithProjection(
                CLIPTextConfig(**configs["text_encoder_2"])).to(dtype)
    state = {key: value.cpu() for key, value in ldm_state_dict(kind, models).items()}
    del models
    gc.collect()
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))


def workflow(ckpt: str, size: int, steps: int, seed: int, compile_backend: str | None) -> dict[str, Any]:
    prompt: dict[str, Any] = {
        "3": {"class_type": "KSampler", "inputs": {"seed": seed, "steps": steps, "cfg": 7.0, "sampler_name": "euler",
                                                   "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                                                   "positive": ["6", 0], "negative": ["7", 0],
                                                   "latent_image": ["5", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": size, "height": size, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse on a cliff at dusk, oil painting",
                                                         "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry, low quality", "clip": ["4", 1]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}},
    }
    if compile_backend:
        prompt["10"] = {"class_type": "TorchCompileModel", "inputs": {"model": ["4", 0], "backend": compile_backend}}
        prompt["3"]["inputs"]["model"] = ["10", 0]
    return prompt


class Timeline:
    """When each node started (``executing``) and when each KSampler step finished (``progress``)."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.order: list[str] = []
        self.steps: list[float] = []

    def __call__(self, event: Any, target: str | None) -> None:
        now = time.perf_counter()
        if isinstance(event, Progress) and event.node == "3":
            self.steps.append(now)
        elif isinstance(event, Executing) and event.node is not None:
            self.started[event.node] = now
            self.order.append(event.node)

    def node_seconds(self, node: str, end: float) -> float:
        """Time from ``node`` starting to the next node starting (or ``end``)."""
        if node not in self.started:
            return 0.0
        index = self.order.index(node)
        following = self.started[self.order[index + 1]] if index + 1 < len(self.order) else end
        return following - self.started[node]


def run_once(runtime: Runtime, prompt: dict[str, Any], cuda: bool) -> dict[str, float]:
    timeline = Timeline()
    unsubscribe = runtime.bus.subscribe(timeline)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    try:
        result, outcome = runtime.run(prompt)
    finally:
        unsubscribe()
    if cuda:
        torch.cuda.synchronize()
    end = time.perf_counter()
    assert result.ok and outcome is not None and outcome.status_str == "success", (result.error_body(), outcome)
    gaps = timeline.steps[-1] - timeline.steps[0] if len(timeline.steps) > 1 else float("nan")
    return {"wall_s": end - start, "load_s": timeline.node_seconds("4", end),
            "it_s": (len(timeline.steps) - 1) / gaps if len(timeline.steps) > 1 else float("nan"),
            "decode_s": timeline.node_seconds("8", end),
            "peak_vram_gib": torch.cuda.max_memory_allocated() / 2 ** 30 if cuda else float("nan")}


def bench(name: str, base: Path, args: argparse.Namespace) -> None:
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    ckpt = f"random_{name}.safetensors"
    started = time.perf_counter()
    write_random_checkpoint(name, base / "models" / "checkpoints" / ckpt, args.device, dtype)
    print(f"{name}: wrote a random-weight checkpoint in {time.perf_counter() - started:.1f} s", flush=True)
    runtime = Runtime.create(Settings(base_dir=base, device=args.device, dtype=args.dtype))
    size = args.size or MODELS[name][2]
    cuda = args.device.startswith("cuda")
    rows = [run_once(runtime, workflow(ckpt, size, args.steps, seed, args.compile), cuda)
            for seed in range(args.runs)]
    best = max(rows[1:] or rows, key=lambda row: row["it_s"])
    print(f"{name} {size}×{size} {args.steps} steps {args.dtype} on {args.device}"
          f"{' (torch.compile ' + args.compile + ')' if args.compile else ''}: "
          f"load {rows[0]['load_s']:.1f} s, first run {rows[0]['wall_s']:.1f} s; "
          f"best warm run: {best['it_s']:.2f} it/s, workflow {best['wall_s']:.2f} s, VAE decode "
          f"{best['decode_s']:.2f} s, peak VRAM {best['peak_vram_gib']:.2f} GiB", flush=True)
    runtime.models.unload_all()
    (base / "models" / "checkpoints" / ckpt).unlink()
    del runtime
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=["sd15", "sdxl"])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", choices=["fp16", "bf16", "fp32"], default="fp16")
    parser.add_argument("--size", type=int, default=0, help="image size (default: 512 for SD1.5, 1024 for SDXL)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compile", choices=["inductor", "cudagraphs"], default=None,
                        help="put a TorchCompileModel node in front of the KSampler")
    parser.add_argument("--base", type=Path, default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("CUDA is not available: this benchmark measures GPU speed (see --device cpu for a smoke run)")
        sys.exit(0)
    if args.device.startswith("cuda"):
        print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = args.base or Path(tmp)
        for name in args.models:
            bench(name, base, args)


if __name__ == "__main__":
    main()
