"""TorchCompileModel: the node's graph compiles the UNet once, samples with it, and agrees with eager.

The graph is the tiny SD1 txt2img with TorchCompileModel (inductor) in front of the KSampler; the
compiled wrapper the node made is then called directly on fixed inputs and compared with the eager UNet
(a sampled latent of a random model would hide a wrong kernel under the seed's noise). On CUDA this is
inductor with Triton kernels; the first run's time is the cold compile (the caches live in the scratch
folder, so it is cold every time). The full mode adds the ``cudagraphs`` backend and the full-size SD1.5
at 512²: compile time and it/s against eager, the figure users ask about.

On the CPU with ``--quick`` (the CI run) inductor's C++ build takes minutes, so torch.compile runs with the
``eager`` backend there: dynamo traces the UNet through the same node, wrapper and sampler, nothing is
code-generated. The report says which backend ran.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from .. import fixtures as fx
from ..context import SectionContext
from ..plan import tolerance


def run(ctx: SectionContext) -> None:
    backend = "inductor"
    substitute = not ctx.cuda and ctx.quick
    if substitute:
        ctx.note("CPU --quick: torch.compile ran with backend 'eager' in place of inductor (dynamo tracing only)")
    dtype = "fp16" if ctx.cuda else "fp32"
    ckpt = fx.tiny_checkpoint(ctx, "sd1")
    backends = [backend] + (["cudagraphs"] if ctx.cuda and not ctx.quick else [])
    for name in backends:
        with _backend_override("eager" if substitute else None):
            _tiny(ctx, ckpt, name, dtype)
    if ctx.cuda and not ctx.quick:
        _full_size(ctx)


@contextmanager
def _backend_override(forced: str | None) -> Iterator[None]:
    if forced is None:
        yield
        return
    original = torch.compile

    def compile_with(model: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["backend"] = forced
        return original(model, *args, **kwargs)

    torch.compile = compile_with  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.compile = original


class _Recorder:
    """Stands in for the compiled wrapper during one run: records each call's inputs and outputs, so eager
    can be compared on exactly the inputs sampling gave it (new shapes would make the wrapper recompile)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any], torch.Tensor]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.wrapped(*args, **kwargs)
        first = out[0] if isinstance(out, tuple) else out.sample
        self.calls.append((args, kwargs, first.detach().clone()))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def _tiny(ctx: SectionContext, ckpt: str, backend: str, dtype: str) -> None:
    torch._dynamo.reset()
    runtime = fx.engine(ctx, ctx.device, dtype)
    eager_prompt = fx.txt2img(ckpt, 64, 4)
    compiled_prompt = fx.with_node(eager_prompt, "30", "TorchCompileModel", {"model": ["4", 0], "backend": backend},
                                   feeds=("3", "model"))
    fx.timed_run(runtime, eager_prompt, ctx.cuda)
    eager = fx.timed_run(runtime, eager_prompt, ctx.cuda)
    first = fx.timed_run(runtime, compiled_prompt, ctx.cuda)
    unet = fx.component(runtime, "unet")
    wrappers = unet.__dict__.get("_inkgraph_compiled", {})
    ctx.check(f"{backend}: the node compiled the UNet and kept the wrapper", list(wrappers) == [backend],
              ", ".join(wrappers) or "no wrapper")
    if backend not in wrappers:
        return
    recorder = wrappers[backend] = _Recorder(wrappers[backend])
    compiled_prompt["3"]["inputs"]["seed"] = 6
    try:
        second = fx.timed_run(runtime, compiled_prompt, ctx.cuda)
    finally:
        wrappers[backend] = recorder.wrapped
    ctx.metric(f"tiny {backend}: first run (compiles)", round(first["wall_s"], 2), "s")
    ctx.metric(f"tiny {backend}: second run", round(second["wall_s"], 3), "s", f"eager {eager['wall_s']:.3f} s")
    ctx.check(f"{backend}: sampling called the compiled UNet", len(recorder.calls) >= 4, len(recorder.calls))
    with torch.inference_mode():
        for index, (args, kwargs, got) in enumerate(recorder.calls[:2]):
            expected = unet(*args, **kwargs)
            expected = expected[0] if isinstance(expected, tuple) else expected.sample
            ctx.compare(f"{backend} vs eager UNet on {ctx.device} {dtype}, sampling call {index + 1}", got, expected,
                        tolerance(dtype))
    runtime.models.unload_all()
    torch._dynamo.reset()


def _full_size(ctx: SectionContext) -> None:
    """SD1.5 at 512², 20 steps: eager against inductor, the compile time, and whether the output agrees."""
    torch._dynamo.reset()
    ckpt = fx.fullsize_checkpoint(ctx, "sd15")
    runtime = fx.engine(ctx, ctx.device, "fp16")
    prompt = fx.txt2img(ckpt, 512, 20, capture=False)
    fx.timed_run(runtime, prompt, True)
    eager = fx.timed_run(runtime, prompt, True)
    compiled = fx.with_node(prompt, "30", "TorchCompileModel", {"model": ["4", 0], "backend": "inductor"},
                            feeds=("3", "model"))
    started = time.perf_counter()
    cold = fx.timed_run(runtime, compiled, True)
    compiled["3"]["inputs"]["seed"] = 6
    warm = fx.timed_run(runtime, compiled, True)
    ctx.metric("SD1.5 512² inductor: first run (cold compile)", round(time.perf_counter() - started, 1), "s",
               f"its sampling {cold['it_s']:.2f} it/s")
    ctx.metric("SD1.5 512² eager", round(eager["it_s"], 2), "it/s")
    ctx.metric("SD1.5 512² inductor (warm)", round(warm["it_s"], 2), "it/s")
    ctx.metric("ratio inductor / eager it/s", round(warm["it_s"] / eager["it_s"], 3), "×")
    runtime.models.unload_all()
    torch._dynamo.reset()  # its caches hold the compiled UNet: give its memory back to the next sections
