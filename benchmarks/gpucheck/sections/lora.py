"""LoRA: patched through LoraLoader on the device against the same graph on the CPU, and unpatched exactly.

A kohya-format LoRA on every linear layer of a tiny SD1 UNet (attention, feed-forward, time embedding) and
on its text encoder's attention projections is applied at strength 1: the device's predictions must match
the CPU's, and differ clearly from the base model's. Then the base graph runs again on the same engine:
every weight of the UNet and the text encoder must equal, bit for bit, what it was before the LoRA (the
patch keeps the originals aside).
"""

from __future__ import annotations

from typing import Any

import torch

from .. import fixtures as fx
from ..context import SectionContext
from ..plan import tolerance


def kohya_lora(models: dict[str, Any], rank: int = 4) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(7)
    state: dict[str, torch.Tensor] = {}
    targets = [("lora_unet_", name, module) for name, module in models["unet"].named_modules()
               if isinstance(module, torch.nn.Linear)]
    targets += [("lora_te_", name if name.startswith("text_model.") else "text_model." + name, module)
                for name, module in models["text_encoder"].named_modules()
                if isinstance(module, torch.nn.Linear) and name.endswith(("q_proj", "k_proj", "v_proj"))]
    for prefix, name, module in targets:
        stem = prefix + name.replace(".", "_")
        state[stem + ".lora_down.weight"] = torch.randn(rank, module.in_features, generator=generator)
        state[stem + ".lora_up.weight"] = torch.randn(module.out_features, rank, generator=generator)
        state[stem + ".alpha"] = torch.tensor(float(rank))
    return state


def run(ctx: SectionContext) -> None:
    from safetensors.torch import save_file

    from tests.fixtures.tiny_sd import build

    ckpt = fx.tiny_checkpoint(ctx, "sd1")
    lora_path = fx.base_dir(ctx) / "models" / "loras" / "gpu_check_style.safetensors"
    if not lora_path.exists():
        lora_path.parent.mkdir(parents=True, exist_ok=True)
        save_file(kohya_lora(build("sd1", seed=1)), str(lora_path))
    base_prompt = fx.txt2img(ckpt, 64, 3)
    lora_prompt = fx.with_node(base_prompt, "30", "LoraLoader",
                               {"model": ["4", 0], "clip": ["4", 1], "lora_name": lora_path.name,
                                "strength_model": 1.0, "strength_clip": 1.0}, feeds=("3", "model"))
    for node in ("6", "7"):
        lora_prompt[node]["inputs"]["clip"] = ["30", 1]
    dtype = "fp16" if ctx.cuda else "fp32"
    device = fx.engine(ctx, ctx.device, dtype)
    before = fx.run_with_predictions(device, base_prompt)
    weights = _snapshot(device)
    patched = fx.run_with_predictions(device, lora_prompt)
    expected = fx.run_with_predictions(fx.reference(ctx), lora_prompt)
    tol = tolerance(dtype)
    ctx.compare(f"with the LoRA, {ctx.device} {dtype} vs CPU fp32: predictions", patched["predictions"],
                expected["predictions"], tol)
    effect, _ = _rel(patched["predictions"], before["predictions"])
    ctx.check("the LoRA changes the predictions (≫ the tolerance)", effect > 5 * tol, effect, f"> {5 * tol:g}")
    after = fx.run_with_predictions(device, base_prompt)
    changed = [name for name, value in _snapshot(device).items() if not torch.equal(value, weights[name])]
    ctx.check("unpatched: every UNet and text-encoder weight equals the original bit for bit", not changed,
              f"{len(changed)} of {len(weights)} differ", detail=", ".join(changed[:3]))
    drift = float((after["predictions"] - before["predictions"]).abs().max())
    ctx.check("unpatched: the base graph's predictions are as before", drift <= 1e-6, drift, "max |difference| ≤ 1e-6")
    device.models.unload_all()


def _snapshot(runtime: Any) -> dict[str, torch.Tensor]:
    out = {}
    for component in ("unet", "text_encoder_0"):
        for name, value in fx.component(runtime, component).state_dict().items():
            out[f"{component}.{name}"] = value.detach().clone()
    return out


def _rel(a: torch.Tensor, b: torch.Tensor) -> tuple[float, bool]:
    from ..context import rel_error

    return rel_error(a, b)
