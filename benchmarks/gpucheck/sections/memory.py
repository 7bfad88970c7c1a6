"""The model manager's VRAM accounting: what it says is on the device is what torch has allocated there.

Four situations, each measured against torch's own allocator (``memory_allocated``): after a text encode
(only the text encoders should be on the device), after a whole txt2img (every component), under
``--vram low`` (nothing stays), and with a budget that holds the UNet alone (the least recently used
models leave when it arrives). Then ``POST /free`` through the real server on loopback: the models are
forgotten and their memory returns. On CUDA the model is the full-size SD1.5 (2 GB in fp16, large
against the allocator's rounding); on the CPU the tiny one, and only the bookkeeping is checked.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import torch

from .. import fixtures as fx
from ..context import SectionContext

SLACK_BYTES = 256 * 2**20  # cuBLAS/cuDNN workspaces and the allocator's rounding


def run(ctx: SectionContext) -> None:
    if ctx.cuda:
        ckpt, size = fx.fullsize_checkpoint(ctx, "sd15"), 256
    else:
        ckpt, size = fx.tiny_checkpoint(ctx, "sd1"), 64
    encode_only = {"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
                   "6": {"class_type": "CLIPTextEncode", "inputs": {"text": fx.PROMPT, "clip": ["4", 1]}},
                   "20": {"class_type": "GpuCheckCapture", "inputs": {"value": ["6", 0], "label": "cond"}}}
    full = fx.txt2img(ckpt, size, 2)

    baseline = _allocated(ctx)
    runtime = fx.engine(ctx, ctx.device, "fp16" if ctx.cuda else "fp32")
    fx.run(runtime, encode_only)
    _account(ctx, runtime, baseline, "after a text encode", expect_on_device={"text_encoder_0"})
    fx.run(runtime, full)
    _account(ctx, runtime, baseline, "after txt2img (--vram normal)",
             expect_on_device={"text_encoder_0", "unet", "vae"})
    runtime.models.unload_all()
    fx.release()
    ctx.check("unload_all returns the memory", _allocated(ctx) - baseline <= SLACK_BYTES,
              _gib(_allocated(ctx) - baseline), f"≤ {_gib(SLACK_BYTES)} GiB above the start")

    low = fx.engine(ctx, ctx.device, "fp16" if ctx.cuda else "fp32", vram="low")
    fx.run(low, full)
    _account(ctx, low, baseline, "after txt2img (--vram low)", expect_on_device=set())
    low.models.unload_all()
    fx.release()

    budgeted = fx.engine(ctx, ctx.device, "fp16" if ctx.cuda else "fp32")
    fx.preload(budgeted, full)
    unet_bytes = next(e.nbytes for k, e in budgeted.models._entries.items() if fx.component_name(k) == "unet")
    budgeted.models.policy.budget_bytes = unet_bytes + unet_bytes // 20  # the policy is resolved by now
    fx.run(budgeted, full)
    on_device = {fx.component_name(k) for k, e in budgeted.models._entries.items() if e.on_device}
    if ctx.cuda:
        ctx.check("a budget for the UNet alone: the others left the device when it arrived",
                  on_device <= {"unet", "vae"} and "text_encoder_0" not in on_device, ", ".join(sorted(on_device)))
    else:
        ctx.check("on the CPU nothing is 'on the device' (no separate budget)", not on_device, ", ".join(on_device))
    budgeted.models.unload_all()
    fx.release()

    asyncio.run(_free_through_server(ctx, full, baseline))


def _allocated(ctx: SectionContext) -> int:
    if not ctx.cuda:
        return 0
    torch.cuda.synchronize()
    return int(torch.cuda.memory_allocated())


def _gib(n: int) -> float:
    return round(n / 2**30, 3)


def _account(ctx: SectionContext, runtime: Any, baseline: int, when: str, expect_on_device: set[str]) -> None:
    entries = runtime.models._entries
    on_device = {fx.component_name(k) for k, e in entries.items() if e.on_device}
    if not ctx.cuda:
        ctx.check(f"{when}: on the CPU the manager moves nothing", not on_device, ", ".join(sorted(on_device)))
        return
    ctx.check(f"{when}: on the device", on_device == expect_on_device, ", ".join(sorted(on_device)) or "nothing",
              ", ".join(sorted(expect_on_device)) or "nothing")
    said = sum(e.nbytes for e in entries.values() if e.on_device)
    measured = _allocated(ctx) - baseline
    ctx.check(f"{when}: manager's bytes on the device vs torch's allocation",
              abs(measured - said) <= SLACK_BYTES + said // 20, f"{_gib(said)} vs {_gib(measured)} GiB",
              f"within 5% + {_gib(SLACK_BYTES)} GiB")


async def _free_through_server(ctx: SectionContext, prompt: dict[str, Any], baseline: int) -> None:
    """POST /prompt, wait for its history entry, POST /free: the models go and their memory returns."""
    from aiohttp.test_utils import TestClient, TestServer

    from inkgraph.engine.core.settings import Settings
    from inkgraph.engine.server.app import PromptServer, ServerConfig

    runtime = fx.engine(ctx, ctx.device, "fp16" if ctx.cuda else "fp32")
    config = ServerConfig(settings=Settings(base_dir=fx.base_dir(ctx), device=ctx.device), listen="127.0.0.1",
                          web_root=None)
    server = PromptServer(config, runtime=runtime)
    client = TestClient(TestServer(server.make_app(), host="127.0.0.1"))
    await client.start_server()
    try:
        posted = await client.post("/prompt", json={"prompt": prompt, "client_id": "gpu-check"})
        body = await posted.json()
        ctx.check("POST /prompt accepted", posted.status == 200, posted.status, detail=str(body)[:200])
        prompt_id = body.get("prompt_id")
        entry = await _wait_history(client, prompt_id, 120)
        status = (entry or {}).get("status", {}).get("status_str")
        ctx.check("the prompt ran through the server", status == "success", str(status))
        loaded = runtime.models.loaded()
        held = _allocated(ctx) - baseline
        ctx.metric("held before /free", _gib(held), "GiB", f"{len(loaded)} models loaded")
        freed = await client.post("/free", json={"unload_models": True, "free_memory": True})
        ctx.check("POST /free accepted", freed.status == 200, freed.status)
        deadline = time.monotonic() + 10
        while runtime.models.loaded() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        ctx.check("/free: the manager holds no model", not runtime.models.loaded(), len(runtime.models.loaded()))
        if ctx.cuda:
            fx.release()
            after = _allocated(ctx) - baseline
            ctx.check("/free: the memory returns", after <= SLACK_BYTES, f"{_gib(held)} → {_gib(after)} GiB",
                      f"≤ {_gib(SLACK_BYTES)} GiB above the start")
    finally:
        await client.close()
        server.worker.stop()


async def _wait_history(client: Any, prompt_id: str | None, timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while prompt_id and time.monotonic() < deadline:
        response = await client.get(f"/history/{prompt_id}")
        data = await response.json()
        if prompt_id in data:
            found: dict[str, Any] = data[prompt_id]
            return found
        await asyncio.sleep(0.2)
    return None
