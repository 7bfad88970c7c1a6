"""What the sections share: engines on a device, random-weight models written as users have them, graphs,
and a capture node that hands a graph's tensors back unrounded.

Every comparison runs the *same graph* twice — on the device under test and on the CPU in fp32 — through
the real engine (validation, executor, model manager, the loader nodes reading a file), and compares what
a capture node received. Files are written once per worker into the scratch folder and reused by later
sections; GPU tensors are never kept between sections.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import torch

from inkgraph.engine import CachePolicy, Socket, node
from inkgraph.engine.core.events import Executing, Progress
from inkgraph.engine.core.registry import NodeRegistry
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime

from .context import SectionContext

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # tests/fixtures builds the tiny models in the key layouts users have
    sys.path.insert(0, str(REPO))

CAPTURED: dict[str, Any] = {}
FULL_SIZE = {"sd15": ("sd1", "sd15", 512), "sdxl": ("sdxl", "sdxl_base", 1024)}  # name: (kind, configs, size)
PROMPT, NEGATIVE = "a lighthouse on a cliff at dusk, oil painting", "blurry, low quality"


@node(category="gpu_check", output_node=True, outputs=[], cache=CachePolicy.ALWAYS_RUN)
def GpuCheckCapture(value: Annotated[Any, Socket(type="*")], label: str = "out") -> None:
    """Keeps what it receives (a LATENT's samples, an IMAGE) for the check to compare."""
    CAPTURED[label] = value["samples"] if isinstance(value, dict) and "samples" in value else value


@node(category="gpu_check", cache=CachePolicy.ALWAYS_RUN)
def GpuCheckRandomConditioning(tokens: int = 512, width: int = 4096, pooled: int = 768, guidance: float = 3.5,
                               seed: int = 0) -> Annotated[list[Any], Socket(type="CONDITIONING")]:
    """Random text conditioning with ComfyUI's entry options (a speed check needs no text encoder)."""
    generator = torch.Generator().manual_seed(seed)
    return [[torch.randn(1, tokens, width, generator=generator),
             {"pooled_output": torch.randn(1, pooled, generator=generator), "guidance": guidance}]]


@node(category="gpu_check")
def GpuCheckEmptyLatent(channels: int = 16, width: int = 1024, height: int = 1024
                        ) -> Annotated[dict[str, Any], Socket(type="LATENT")]:
    """An empty latent with any channel count (Flux and SD3 latents have 16)."""
    return {"samples": torch.zeros(1, channels, height // 8, width // 8)}


PACK = [GpuCheckCapture, GpuCheckRandomConditioning, GpuCheckEmptyLatent]
_REGISTRY: list[NodeRegistry] = []


def registry() -> NodeRegistry:
    """The built-in nodes plus the capture node (built once per worker; no plugins, no custom nodes)."""
    if not _REGISTRY:
        from inkgraph.engine.runtime.packs import default_registry

        built = default_registry(entry_points=False)
        built.load_pack("gpu_check", "benchmarks/gpucheck", lambda: PACK)
        _REGISTRY.append(built)
    return _REGISTRY[0]


def base_dir(ctx: SectionContext) -> Path:
    return ctx.work / "base"


def engine(ctx: SectionContext, device: str, dtype: str | None, vram: str = "normal", cache: str = "none",
           preview: str = "none") -> Runtime:
    settings = Settings(base_dir=base_dir(ctx), device=device, dtype=dtype, vram=vram,  # type: ignore[arg-type]
                        cache=cache, preview_method=preview, custom_nodes=False)  # type: ignore[arg-type]
    return Runtime.create(settings, registry=registry())


def reference(ctx: SectionContext) -> Runtime:
    """The CPU in fp32: what every device result is compared with."""
    return engine(ctx, "cpu", "fp32")


def run(runtime: Runtime, prompt: dict[str, Any], extra_data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a graph; what its capture nodes received, by label. A failed graph raises with the engine's error."""
    CAPTURED.clear()
    result, outcome = runtime.run(prompt, extra_data=extra_data)
    if not result.ok:
        raise RuntimeError(f"the graph did not validate: {json.dumps(result.error_body())[:1500]}")
    if outcome is None or outcome.status_str != "success":
        error = outcome.error if outcome is not None else None
        raise RuntimeError(f"the graph failed: {json.dumps(error, default=str)[:3000]}")
    return dict(CAPTURED)


def component_name(key: Any) -> str:
    """The component a manager key names: its last element ("unet", "vae", "text_encoder_0" …)."""
    return str(key[-1]) if isinstance(key, tuple) and key else str(key)


def component(runtime: Runtime, name: str) -> Any:
    """A model the manager holds, by component ("unet", "vae", "text_encoder_0" …); its entries are keyed
    (…, component), most recently used first. The check reads the manager's own bookkeeping."""
    entries = list(reversed(runtime.models._entries.items()))
    if name == "unet":  # UNETLoader's model (keyed ("diffusion_model", …)) wins over a checkpoint's own UNet
        for key, entry in entries:
            if isinstance(key, tuple) and key and key[0] == "diffusion_model":
                return entry.model
    for key, entry in entries:
        if component_name(key) == name:
            return entry.model
    if name == "unet":  # a diffusion-model loader may key its model otherwise
        for _, entry in entries:
            if any(word in type(entry.model).__name__ for word in ("UNet", "Transformer")):
                return entry.model
    raise KeyError(f"no {name} loaded")


def preload(runtime: Runtime, prompt: dict[str, Any]) -> None:
    """Run only the graph's loader nodes (so their models are in the manager before a hook is attached)."""
    loaders = {k: v for k, v in prompt.items() if "Loader" in v["class_type"]}
    captures = {f"9{k}": {"class_type": "GpuCheckCapture", "inputs": {"value": [k, 0], "label": f"load {k}"}}
                for k in loaders}
    run(runtime, {**loaders, **captures})


def run_with_predictions(runtime: Runtime, prompt: dict[str, Any]) -> dict[str, Any]:
    """Run a graph and also capture every UNet output under "predictions": the network's own answer at each
    step is what a wrong kernel changes first, while the final latent of a random-weight model is mostly
    the seed's noise."""
    preload(runtime, prompt)
    outputs: list[torch.Tensor] = []

    def hook(module: Any, args: Any, output: Any) -> None:
        first = output[0] if isinstance(output, tuple) else getattr(output, "sample", output)
        outputs.append(first.detach().float().cpu())

    handle = component(runtime, "unet").register_forward_hook(hook)
    try:
        captured = run(runtime, prompt)
    finally:
        handle.remove()
    captured["predictions"] = torch.stack(outputs)
    return captured


# -- models -------------------------------------------------------------------------------------------
def tiny_checkpoint(ctx: SectionContext, kind: str) -> str:
    """A tiny SD1/SDXL single file (tests/fixtures/tiny_sd.py: the real key layout, configs in its metadata)."""
    name = f"tiny_{kind}.safetensors"
    path = base_dir(ctx) / "models" / "checkpoints" / name
    if not path.exists():
        from tests.fixtures.tiny_sd import save_single_file

        save_single_file(kind, path, seed=1)
    return name


def fullsize_models(name: str, device: str, dtype: torch.dtype, seed: int = 0) -> dict[str, Any]:
    """Full-size SD1.5 or SDXL modules from the shipped configs, random weights (initialised on ``device``:
    seconds on a GPU, minutes on a CPU). The same seed and device give the same weights."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from inkgraph.nodes.diffusion.checkpoint import shipped_configs

    configs = shipped_configs(FULL_SIZE[name][1])
    torch.manual_seed(seed)
    built: dict[str, Any] = {}
    with torch.device(device):
        built["unet"] = UNet2DConditionModel.from_config(configs["unet"])
        built["vae"] = AutoencoderKL.from_config(configs["vae"])
        built["text_encoder"] = CLIPTextModel(CLIPTextConfig(**configs["text_encoder"]))
        if "text_encoder_2" in configs:
            built["text_encoder_2"] = CLIPTextModelWithProjection(CLIPTextConfig(**configs["text_encoder_2"]))
    models = {key: module.to(dtype).eval().requires_grad_(False) for key, module in built.items()}
    models["configs"] = configs
    return models


def write_checkpoint(name: str, models: dict[str, Any], path: Path) -> float:
    """Save models as an original-layout single file (no embedded configs, as downloads are); seconds taken."""
    from safetensors.torch import save_file

    from tests.fixtures.tiny_sd import ldm_state_dict

    started = time.perf_counter()
    state = {key: value.to("cpu") for key, value in ldm_state_dict(FULL_SIZE[name][0], models).items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    save_file(state, str(temporary))
    temporary.rename(path)
    del state
    gc.collect()
    return time.perf_counter() - started


def fullsize_checkpoint(ctx: SectionContext, name: str, models: dict[str, Any] | None = None) -> str:
    """The full-size random checkpoint ``name`` (fp16, written once per scratch folder)."""
    filename = f"random_{name}.safetensors"
    path = base_dir(ctx) / "models" / "checkpoints" / filename
    if not path.exists():
        need = 3.0 if name == "sd15" else 8.0
        free = free_gib(path.parent)
        if free < need * 1.2:
            ctx.skip(f"{free:.1f} GiB free in {path.parent}, {need:.0f} GiB needed for the random {name} file")
        owned = models is None
        if models is None:
            models = fullsize_models(name, ctx.device if ctx.cuda else "cpu", torch.float16)
        seconds = write_checkpoint(name, models, path)
        ctx.metric(f"{name} random file written", round(seconds, 1), "s", f"{path.stat().st_size / 2**30:.2f} GiB")
        if owned:
            del models
            release()
    return filename


def free_gib(folder: Path) -> float:
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(folder).free / 2**30


def release() -> None:
    gc.collect()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


# -- graphs -------------------------------------------------------------------------------------------
def txt2img(ckpt: str, size: int | tuple[int, int], steps: int, seed: int = 5, cfg: float = 7.0,
            sampler: str = "euler", scheduler: str = "normal", decode: str | None = "whole",
            tile: int = 512, capture: bool = True) -> dict[str, Any]:
    """CheckpointLoaderSimple → CLIPTextEncode ×2 → EmptyLatentImage → KSampler → VAEDecode (or
    VAEDecodeTiled), with capture nodes on the latent ("latent") and the image ("image")."""
    width, height = (size, size) if isinstance(size, int) else size
    prompt: dict[str, Any] = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": width, "height": height, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": PROMPT, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": NEGATIVE, "clip": ["4", 1]}},
        "3": {"class_type": "KSampler", "inputs": {"seed": seed, "steps": steps, "cfg": cfg, "sampler_name": sampler,
                                                   "scheduler": scheduler, "denoise": 1.0, "model": ["4", 0],
                                                   "positive": ["6", 0], "negative": ["7", 0],
                                                   "latent_image": ["5", 0]}},
    }
    if capture:
        prompt["20"] = {"class_type": "GpuCheckCapture", "inputs": {"value": ["3", 0], "label": "latent"}}
    if decode == "whole":
        prompt["8"] = {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}}
    elif decode == "tiled":
        prompt["8"] = {"class_type": "VAEDecodeTiled", "inputs": {"samples": ["3", 0], "vae": ["4", 2],
                                                                  "tile_size": tile, "overlap": tile // 8,
                                                                  "temporal_size": 64, "temporal_overlap": 8}}
    if decode and capture:
        prompt["21"] = {"class_type": "GpuCheckCapture", "inputs": {"value": ["8", 0], "label": "image"}}
    elif decode:
        prompt["9"] = {"class_type": "PreviewImage", "inputs": {"images": ["8", 0]}}
    return prompt


def with_node(prompt: dict[str, Any], node_id: str, class_type: str, inputs: dict[str, Any],
              feeds: tuple[str, str] | None = None) -> dict[str, Any]:
    """``prompt`` with one more node; ``feeds`` (node, input) is re-linked to its first output."""
    out: dict[str, Any] = json.loads(json.dumps(prompt))
    out[node_id] = {"class_type": class_type, "inputs": inputs}
    if feeds is not None:
        out[feeds[0]]["inputs"][feeds[1]] = [node_id, 0]
    return out


class Timeline:
    """When each node started and when each KSampler step ended (the device synchronised at each step, so
    a step's time is the device's, not the time to queue it)."""

    def __init__(self, sampler_node: str = "3", cuda: bool = False) -> None:
        self.sampler_node, self.cuda = sampler_node, cuda
        self.started: dict[str, float] = {}
        self.order: list[str] = []
        self.steps: list[float] = []

    def __call__(self, event: Any, target: str | None) -> None:
        if isinstance(event, Progress) and event.node == self.sampler_node:
            if self.cuda:
                torch.cuda.synchronize()
            self.steps.append(time.perf_counter())
        elif isinstance(event, Executing) and event.node is not None:
            self.started[event.node] = time.perf_counter()
            self.order.append(event.node)

    def node_seconds(self, node_id: str, end: float) -> float:
        if node_id not in self.started:
            return 0.0
        index = self.order.index(node_id)
        following = self.started[self.order[index + 1]] if index + 1 < len(self.order) else end
        return following - self.started[node_id]

    def it_per_s(self) -> float:
        """Steps per second between the first and the last step (the first step's own cost left out)."""
        if len(self.steps) < 2:
            return float("nan")
        return (len(self.steps) - 1) / (self.steps[-1] - self.steps[0])

    def first_step_s(self) -> float:
        """From the KSampler starting to its first step ending: moving the model in, the first forward."""
        if not self.steps or self.sampler_node not in self.started:
            return float("nan")
        return self.steps[0] - self.started[self.sampler_node]


def timed_run(runtime: Runtime, prompt: dict[str, Any], cuda: bool) -> dict[str, float]:
    """One run of ``prompt`` with its timeline: wall, load, first step, it/s, decode, peak VRAM."""
    timeline = Timeline(cuda=cuda)
    unsubscribe = runtime.bus.subscribe(timeline)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    try:
        run(runtime, prompt)
    finally:
        unsubscribe()
    if cuda:
        torch.cuda.synchronize()
    end = time.perf_counter()
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    return {"wall_s": end - start, "load_s": timeline.node_seconds("4", end), "it_s": timeline.it_per_s(),
            "first_step_s": timeline.first_step_s(), "decode_s": timeline.node_seconds("8", end),
            "peak_vram_gib": float(peak)}


def dtype_of(name: str) -> torch.dtype:
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[name]


def device_dtypes(ctx: SectionContext) -> list[str]:
    """The compute dtypes this device is checked in (bf16 only where the card has it)."""
    out = ["fp32", "fp16"]
    if not ctx.cuda or torch.cuda.is_bf16_supported():
        out.append("bf16")
    return out
