"""Wan 2.2 TI2V 5B at 720p on CUDA: seconds per frame and peak VRAM through the real engine path.

The script writes a full-size Wan 2.2 TI2V 5B transformer (3072 wide, 30 blocks, 48 latent channels) and the
full Wan 2.2 VAE with random weights in ComfyUI's file layouts (``wan2.2_ti2v_5B_fp16.safetensors``,
``wan2.2_vae.safetensors``), and a umT5 with the real width (4096) but two blocks and a small vocabulary (the
text encoder runs once per prompt and is not what is measured), then runs the official template's shape:
UNETLoader → CLIPLoader (wan) → CLIPTextEncode ×2 → Wan22ImageToVideoLatent (1280×704, 121 frames, a start
image) → ModelSamplingSD3 (shift 8) → KSampler (uni_pc, simple, cfg 5) → VAEDecode → CreateVideo (24 fps) →
SaveVideo.

Figures: sampling s/step (KSampler progress events, first step left out), VAE decode s, the workflow's wall
time, seconds per output frame, and the peak VRAM torch allocated. The first run is a warm-up; the best of
the rest is reported. ``--weight-dtype fp8_e4m3fn`` stores the transformer's linear weights in fp8 (what a
24 GB card needs for the 14B models).

Run (CUDA): ``python benchmarks/gpu_video.py [--steps 20] [--frames 121] [--weight-dtype fp8_e4m3fn]``
CPU smoke run (CI): ``python benchmarks/gpu_video.py --device cpu --tiny`` (the tests' tiny models, 32×32,
5 frames, 2 steps).
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

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from inkgraph.engine.core.events import Executing, Progress  # noqa: E402
from inkgraph.engine.core.settings import Settings  # noqa: E402
from inkgraph.engine.runtime import Runtime  # noqa: E402

UNET, VAE, TEXT = "wan2.2_ti2v_5B_fp16.safetensors", "wan2.2_vae.safetensors", "umt5_xxl_fp16.safetensors"
FULL = dict(patch_size=(1, 2, 2), num_attention_heads=24, attention_head_dim=128, in_channels=48, out_channels=48,
            text_dim=4096, freq_dim=256, ffn_dim=14336, num_layers=30, cross_attn_norm=True,
            qk_norm="rms_norm_across_heads", eps=1e-6)


def write_models(models: Path, tiny: bool, device: str) -> None:
    """The transformer, VAE and text encoder as ComfyUI's files, random weights (seeded)."""
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    from inkgraph.nodes.diffusion.families.wan import WAN22_MEAN, WAN22_STD
    from tests.fixtures import tiny_video as tv
    from tests.fixtures.tiny_dit import save

    torch.manual_seed(0)
    if tiny:
        transformer, vae, encoder = tv.wan("ti2v", 1), tv.wan_vae("2.2", 2), tv.umt5(3)
    else:
        with torch.device(device):  # initialising 5 B parameters on the GPU takes seconds, on the CPU minutes
            transformer = WanTransformer3DModel(**FULL).to(torch.bfloat16)
            vae = AutoencoderKLWan(base_dim=160, decoder_base_dim=256, z_dim=48, is_residual=True, in_channels=12,
                                   out_channels=12, patch_size=2, scale_factor_spatial=16,
                                   latents_mean=list(WAN22_MEAN), latents_std=list(WAN22_STD))
            encoder = UMT5EncoderModel(UMT5Config(vocab_size=128, d_model=4096, d_kv=64, d_ff=10240, num_layers=2,
                                                  num_heads=64, feed_forward_proj="gated-gelu",
                                                  is_encoder_decoder=False, use_cache=False))
    save({k: v.cpu() for k, v in tv.wan_state(transformer).items()}, models / "diffusion_models" / UNET,
         dtype=torch.float16)
    del transformer
    save({k: v.cpu() for k, v in tv.wan_vae_state(vae).items()}, models / "vae" / VAE)
    del vae
    (models / "text_encoders").mkdir(parents=True, exist_ok=True)
    tv.save_umt5(encoder.cpu(), models / "text_encoders" / TEXT, "fp16")
    gc.collect()


def workflow(width: int, height: int, frames: int, steps: int, seed: int, weight_dtype: str) -> dict[str, Any]:
    return {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": UNET, "weight_dtype": weight_dtype}},
        "2": {"class_type": "CLIPLoader", "inputs": {"clip_name": TEXT, "type": "wan", "device": "default"}},
        "3": {"class_type": "VAELoader", "inputs": {"vae_name": VAE}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "a street musician plays guitar in a subway station",
                                                         "clip": ["2", 0]}},
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["2", 0]}},
        "6": {"class_type": "LoadImage", "inputs": {"image": "start.png"}},
        "7": {"class_type": "Wan22ImageToVideoLatent", "inputs": {"vae": ["3", 0], "width": width, "height": height,
                                                                  "length": frames, "batch_size": 1,
                                                                  "start_image": ["6", 0]}},
        "8": {"class_type": "ModelSamplingSD3", "inputs": {"model": ["1", 0], "shift": 8.0}},
        "9": {"class_type": "KSampler", "inputs": {"seed": seed, "steps": steps, "cfg": 5.0, "sampler_name": "uni_pc",
                                                   "scheduler": "simple", "denoise": 1.0, "model": ["8", 0],
                                                   "positive": ["4", 0], "negative": ["5", 0],
                                                   "latent_image": ["7", 0]}},
        "10": {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0], "vae": ["3", 0]}},
        "11": {"class_type": "CreateVideo", "inputs": {"images": ["10", 0], "fps": 24.0}},
        "12": {"class_type": "SaveVideo", "inputs": {"video": ["11", 0], "filename_prefix": "video/bench",
                                                     "format": "auto", "codec": "auto"}},
    }


class Timeline:
    """When each node started and when each KSampler step finished."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.order: list[str] = []
        self.steps: list[float] = []

    def __call__(self, event: Any, target: str | None) -> None:
        now = time.perf_counter()
        if isinstance(event, Progress) and event.node == "9":
            self.steps.append(now)
        elif isinstance(event, Executing) and event.node is not None:
            self.started[event.node] = now
            self.order.append(event.node)

    def seconds(self, node: str, end: float) -> float:
        if node not in self.started:
            return float("nan")
        index = self.order.index(node)
        following = self.started[self.order[index + 1]] if index + 1 < len(self.order) else end
        return following - self.started[node]


def run_once(runtime: Runtime, prompt: dict[str, Any], frames: int, cuda: bool) -> dict[str, float]:
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
    steps = timeline.steps
    per_step = (steps[-1] - steps[1]) / (len(steps) - 2) if len(steps) > 2 else timeline.seconds("9", end)
    return {"wall_s": end - start, "sampling_s": timeline.seconds("9", end), "s_step": per_step,
            "decode_s": timeline.seconds("10", end), "s_frame": (end - start) / frames,
            "peak_vram_gib": torch.cuda.max_memory_allocated() / 2 ** 30 if cuda else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", choices=["fp16", "bf16", "fp32"], default=None,
                        help="compute dtype (default: bf16 on CUDA, fp32 on the CPU)")
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny models (a smoke run of the script)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=704)
    parser.add_argument("--frames", type=int, default=121)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--weight-dtype", default="default", choices=["default", "fp8_e4m3fn", "fp8_e5m2"])
    parser.add_argument("--base", type=Path, default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    cuda = args.device.startswith("cuda")
    args.dtype = args.dtype or ("bf16" if cuda else "fp32")
    if cuda and not torch.cuda.is_available():
        print("CUDA is not available: this benchmark measures GPU speed (see --device cpu --tiny for a smoke run)")
        sys.exit(0)
    if args.tiny:
        args.width = args.height = 32
        args.frames, args.steps = min(args.frames, 5), min(args.steps, 2)
    if cuda:
        print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}", flush=True)
    else:
        torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    with tempfile.TemporaryDirectory() as tmp:
        base = args.base or Path(tmp)
        started = time.perf_counter()
        write_models(base / "models", args.tiny, args.device)
        print(f"wrote {'tiny' if args.tiny else 'full-size'} random-weight models in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        (base / "input").mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        start = (rng.random((args.height, args.width, 3)) * 255).astype(np.uint8)
        Image.fromarray(start).save(base / "input" / "start.png")
        runtime = Runtime.create(Settings(base_dir=base, device=args.device, dtype=args.dtype, cache="none"))
        rows = [run_once(runtime, workflow(args.width, args.height, args.frames, args.steps, seed, args.weight_dtype),
                         args.frames, cuda) for seed in range(args.runs)]
        best = min(rows[1:] or rows, key=lambda row: row["wall_s"])
        print(f"Wan 2.2 TI2V 5B{' (tiny)' if args.tiny else ''} {args.width}x{args.height} {args.frames} frames "
              f"{args.steps} steps {args.dtype} weights {args.weight_dtype} on {args.device}: "
              f"first run {rows[0]['wall_s']:.1f} s; best warm run: {best['s_step']:.2f} s/step, sampling "
              f"{best['sampling_s']:.1f} s, VAE decode {best['decode_s']:.1f} s, workflow {best['wall_s']:.1f} s, "
              f"{best['s_frame']:.3f} s/frame, peak VRAM {best['peak_vram_gib']:.2f} GiB", flush=True)


if __name__ == "__main__":
    main()
