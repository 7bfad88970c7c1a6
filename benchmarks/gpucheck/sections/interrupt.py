"""Interrupt mid-sampling: a long KSampler is interrupted after a few steps, as POST /interrupt does. It must
stop within a step or two (the sampler checks at every step), report execution_interrupted, leave no model
marked in use, and the engine must run the next prompt normally."""

from __future__ import annotations

import threading
import time
from typing import Any

from .. import fixtures as fx
from ..context import SectionContext

STOP_LIMIT_S = 2.0


def run(ctx: SectionContext) -> None:
    ckpt = fx.tiny_checkpoint(ctx, "sd1")
    steps = 2000 if ctx.cuda else 300
    runtime = fx.engine(ctx, ctx.device, "fp16" if ctx.cuda else "fp32")
    fx.run(runtime, fx.txt2img(ckpt, 64, 1))  # load first: the interrupt should land in sampling
    progressed = threading.Event()
    seen: list[int] = []

    def on_event(event: Any, target: str | None) -> None:
        if event.type == "progress":
            seen.append(int(event.value))
            if event.value >= 3:
                progressed.set()

    runtime.bus.subscribe(on_event)
    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.update(result=runtime.run(fx.txt2img(ckpt, 64, steps, seed=9))))
    thread.start()
    if not progressed.wait(60):
        ctx.check("sampling reached step 3", False, len(seen))
        thread.join(120)
        return
    asked = time.perf_counter()
    ctx.check("the executor accepted the interrupt", runtime.executor.interrupt())
    thread.join(30)
    stopped = time.perf_counter() - asked
    ctx.check("stopped soon after the interrupt", not thread.is_alive() and stopped < STOP_LIMIT_S, stopped,
              f"< {STOP_LIMIT_S} s")
    _, outcome = box.get("result", (None, None))
    ctx.check("the outcome says interrupted", outcome is not None and outcome.interrupted,
              str(getattr(outcome, "status_str", None)))
    messages = [name for name, _ in getattr(outcome, "messages", [])]
    ctx.check("execution_interrupted was sent", "execution_interrupted" in messages, ", ".join(messages))
    ctx.metric("steps done before stopping", max(seen) if seen else 0, f"of {steps}")
    busy = [str(key) for key, entry in runtime.models._entries.items() if entry.in_use]
    ctx.check("no model left marked in use", not busy, len(busy))
    fx.run(runtime, fx.txt2img(ckpt, 64, 2))
    ctx.check("the next prompt runs normally", True)
    runtime.models.unload_all()
