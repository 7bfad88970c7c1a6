"""Environment: what the rest of the report was measured on, and what could stop it on a fresh machine.

Versions (torch, CUDA, cuDNN, driver, diffusers, transformers …), the device's name, memory, capability
and multiprocessors, which optional packages are present (those absent only skip their sections), the
matmul/conv precision flags, whether the caches the compilers write to are writable, free disk and RAM,
that the process is offline, and that the shipped tokenizer and configs load with the network refused.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from ..context import SectionContext

PACKAGES = ("torch", "torchvision", "diffusers", "transformers", "tokenizers", "huggingface-hub", "safetensors",
            "accelerate", "pydantic", "aiohttp", "numpy", "spandrel", "torchsde", "triton", "ray", "peft", "gguf",
            "xformers", "kornia", "pytest", "inkgraph")


def run(ctx: SectionContext) -> None:
    import torch

    ctx.metric("python", f"{platform.python_version()} ({sys.executable})")
    ctx.metric("platform", platform.platform())
    ctx.metric("torch", torch.__version__)
    ctx.metric("device", ctx.device)
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    present = ", ".join(f"{k} {v}" for k, v in versions.items() if v and k != "torch")
    ctx.metric("packages", present)
    missing = [k for k, v in versions.items() if v is None]
    ctx.metric("packages absent", ", ".join(missing) or "none")
    for required in ("diffusers", "transformers", "safetensors", "pydantic"):
        ctx.check(f"{required} importable", versions[required] is not None, versions[required] or "absent")
    if versions["inkgraph"] is None:
        ctx.note("the inkgraph distribution is not installed (pip install -e . failed or was skipped); the check "
                 "imports it from the repository")

    _device(ctx)
    _precision_flags(ctx)
    _caches(ctx)
    _resources(ctx)
    _offline(ctx)


def _device(ctx: SectionContext) -> None:
    import torch

    ctx.metric("CUDA available", str(torch.cuda.is_available()))
    if not ctx.cuda:
        ctx.check("device is the CPU (as asked)", ctx.device == "cpu", ctx.device)
        return
    index = torch.device(ctx.device).index or 0
    props = torch.cuda.get_device_properties(index)
    ctx.metric("GPU", props.name)
    ctx.metric("GPU memory", round(props.total_memory / 2**30, 1), "GiB")
    ctx.metric("compute capability", f"{props.major}.{props.minor}")
    ctx.metric("multiprocessors", props.multi_processor_count)
    ctx.metric("CUDA (torch built with)", str(torch.version.cuda))
    ctx.metric("cuDNN", str(torch.backends.cudnn.version()))
    ctx.metric("bf16 supported", str(torch.cuda.is_bf16_supported()))
    ctx.metric("driver", _nvidia_smi("driver_version") or "nvidia-smi not found")
    free, total = torch.cuda.mem_get_info(index)
    ctx.metric("GPU memory free at start", round(free / 2**30, 1), "GiB")
    ctx.check("a CUDA kernel runs and returns the right answer",
              bool((torch.arange(4, device=ctx.device) * 2).sum().item() == 12))
    from inkgraph.engine.core.devices import pick_dtype

    ctx.metric("default dtype (devices.pick_dtype)", pick_dtype(ctx.device))


def _nvidia_smi(field: str) -> str | None:
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return None
    try:
        done = subprocess.run([binary, f"--query-gpu={field}", "--format=csv,noheader"], capture_output=True,
                              text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else None


def _precision_flags(ctx: SectionContext) -> None:
    import torch

    ctx.metric("matmul TF32 / conv TF32", f"{torch.backends.cuda.matmul.allow_tf32} / "
                                         f"{torch.backends.cudnn.allow_tf32}",
               note="torch's defaults, left as users get them")
    ctx.metric("torch threads", torch.get_num_threads())


def _caches(ctx: SectionContext) -> None:
    """torch.compile writes generated code under TORCHINDUCTOR_CACHE_DIR and TRITON_CACHE_DIR, and Triton
    builds a small C launcher (a C compiler and Python's headers)."""
    for variable in ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR", "HF_HOME"):
        folder = Path(os.environ.get(variable, ""))
        writable = bool(os.environ.get(variable)) and folder.is_dir() and os.access(folder, os.W_OK)
        ctx.check(f"{variable} writable", writable, str(folder))
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    ctx.metric("C compiler (inductor, Triton)", compiler or "none found")
    header = Path(sysconfig.get_paths()["include"]) / "Python.h"
    ctx.metric("Python.h (Triton's launcher)", "present" if header.is_file() else f"absent ({header})")


def _resources(ctx: SectionContext) -> None:
    from inkgraph.engine.core.devices import ram_bytes

    total, available = ram_bytes()
    ctx.metric("RAM total / available", f"{total / 2**30:.0f} / {available / 2**30:.0f} GiB")
    ctx.metric("CPU cores", os.cpu_count() or 0)
    free = shutil.disk_usage(ctx.work).free / 2**30
    ctx.metric("scratch free", round(free, 1), "GiB", str(ctx.work))
    need = 12.0 if ctx.cuda else 0.5
    ctx.check("scratch space for the random full-size models", free >= need, f"{free:.1f} GiB",
              f"≥ {need:.0f} GiB (SD1.5 + SDXL in fp16)")


def _offline(ctx: SectionContext) -> None:
    """No hub lookups: the environment says offline, and the shipped tokenizer loads with the network
    refused (the worker's guard records any attempt)."""
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        ctx.check(f"{variable}=1", os.environ.get(variable) == "1", os.environ.get(variable, "unset"))
    from inkgraph.nodes.diffusion.checkpoint import shipped_configs
    from inkgraph.nodes.diffusion.text import tokenizer

    ids = tokenizer()("a lighthouse").input_ids
    ctx.check("shipped CLIP tokenizer loads offline", len(ids) >= 3, len(ids))
    configs = shipped_configs("sdxl_base")
    ctx.check("shipped SDXL configs present", {"unet", "vae", "text_encoder", "text_encoder_2"} <= set(configs),
              ", ".join(sorted(configs)))
    from ..worker import NETWORK_ATTEMPTS

    ctx.check("no network access attempted so far", not NETWORK_ATTEMPTS, len(NETWORK_ATTEMPTS),
              detail="; ".join(NETWORK_ATTEMPTS[:5]))
