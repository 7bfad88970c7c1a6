"""A stub node pack for engine tests: plain Python values, no torch, and a call log per node."""

from __future__ import annotations

import threading
import time
from typing import Annotated, Any, Literal

from inkgraph.engine import (
    CachePolicy,
    Context,
    ExecutionBlocker,
    Float,
    Hidden,
    Int,
    NodeOutput,
    Output,
    Socket,
    String,
    node,
)
from inkgraph.engine.core.registry import NodeRegistry

Number = Annotated[Any, Socket(type="NUMBER")]
Text = Annotated[Any, Socket(type="TEXT")]


class CallLog:
    """Which node ids ran, in order; shared by every stub node."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def add(self, node_id: str) -> None:
        with self.lock:
            self.calls.append(node_id)

    def take(self) -> list[str]:
        with self.lock:
            calls, self.calls = self.calls, []
            return calls


LOG = CallLog()


@node(category="stub")
def StubConst(ctx: Context, value: Annotated[int, Int(min=-1000, max=1000)] = 0) -> Number:
    """Outputs its value."""
    LOG.add(ctx.node_id)
    return value


@node(category="stub")
def StubAdd(ctx: Context, a: Number, b: Number) -> Number:
    LOG.add(ctx.node_id)
    return a + b


@node(category="stub")
def StubScale(ctx: Context, value: Number, factor: Annotated[float, Float(min=0.0, max=10.0, step=0.5)] = 1.0,
              ) -> Number:
    LOG.add(ctx.node_id)
    return value * factor


@node(category="stub")
def StubNoop(ctx: Context, value: Number) -> Number:
    return value


@node(category="stub", output_node=True, outputs=[])
def StubOutput(ctx: Context, value: Number, label: str = "out") -> NodeOutput:
    """An output node: reports its value in its UI data."""
    LOG.add(ctx.node_id)
    return NodeOutput(ui={"values": [value], "label": [label]})


@node(category="stub", output_node=True, outputs=[])
def StubPrompt(ctx: Context, value: Number, prompt: Annotated[dict, Hidden("PROMPT")],
               unique_id: Annotated[str, Hidden("UNIQUE_ID")],
               extra: Annotated[dict | None, Hidden("EXTRA_PNGINFO")] = None) -> NodeOutput:
    LOG.add(ctx.node_id)
    return NodeOutput(ui={"ids": [unique_id], "nodes": [sorted(prompt)], "extra": [extra]})


@node(category="stub")
def StubChoose(ctx: Context, mode: Literal["sum", "diff"] = "sum", a: Number = None, b: Number = None) -> Number:
    LOG.add(ctx.node_id)
    return a + b if mode == "sum" else a - b


@node(category="stub")
def StubFail(ctx: Context, value: Number, message: str = "boom") -> Number:
    LOG.add(ctx.node_id)
    raise RuntimeError(message)


@node(category="stub")
def StubSlow(ctx: Context, value: Number, steps: Annotated[int, Int(min=1, max=1000)] = 5,
             delay: Annotated[float, Float(min=0.0, max=5.0)] = 0.01) -> Number:
    """Reports progress each step and honours interruption."""
    LOG.add(ctx.node_id)
    for step in range(steps):
        time.sleep(delay)
        ctx.progress(step + 1, steps)
    return value


@node(category="stub")
def StubPreview(ctx: Context, value: Number, steps: Annotated[int, Int(min=1, max=100)] = 2) -> Number:
    """Reports progress with a small preview image each step."""
    from PIL import Image

    LOG.add(ctx.node_id)
    for step in range(steps):
        ctx.progress(step + 1, steps, preview=Image.new("RGB", (16, 8), (255, 0, 0)))
    return value


@node(category="stub")
def StubRange(ctx: Context, count: Annotated[int, Int(min=0, max=100)] = 3,
              ) -> Annotated[Any, Socket(type="NUMBER"), Output(is_list=True)]:
    """Outputs the list 0..count-1 (an OUTPUT_IS_LIST node)."""
    LOG.add(ctx.node_id)
    return list(range(count))


@node(category="stub", input_is_list=True)
def StubSum(ctx: Context, values: Number) -> Number:
    """Receives the whole list (an INPUT_IS_LIST node)."""
    LOG.add(ctx.node_id)
    return sum(values)


@node(category="stub", cache=CachePolicy.ALWAYS_RUN)
def StubVolatile(ctx: Context, value: Number) -> Number:
    LOG.add(ctx.node_id)
    return value


@node(category="stub", cache=CachePolicy.NEVER_CACHE)
def StubUncached(ctx: Context, value: Number) -> Number:
    LOG.add(ctx.node_id)
    return value


def _mix_lazy(ctx: Context, mix: float, a: Any = None, b: Any = None) -> list[str]:
    needed = []
    if mix > 0.0 and a is None:
        needed.append("a")
    if mix < 1.0 and b is None:
        needed.append("b")
    return needed


@node(category="stub", check_lazy=_mix_lazy)
def StubLazyMix(ctx: Context, mix: Annotated[float, Float(min=0.0, max=1.0)] = 0.5,
                a: Annotated[Any, Socket(type="NUMBER", lazy=True)] = None,
                b: Annotated[Any, Socket(type="NUMBER", lazy=True)] = None) -> Number:
    """Evaluates only the inputs its mix needs (ComfyUI's TestLazyMixImages)."""
    LOG.add(ctx.node_id)
    if mix <= 0.0:
        return b
    if mix >= 1.0:
        return a
    return a * mix + b * (1 - mix)


@node(category="stub")
def StubBlock(ctx: Context, value: Number, block: bool = False, message: str = "") -> Number:
    LOG.add(ctx.node_id)
    return ExecutionBlocker(message or None) if block else value


def _validate_even(value: int) -> bool | str:
    return True if value % 2 == 0 else f"{value} is odd"


@node(category="stub", validate=_validate_even)
def StubEven(ctx: Context, value: Annotated[int, Int(min=0, max=10)] = 0) -> Number:
    """Custom validation: the value must be even; its own validator replaces the min/max check."""
    LOG.add(ctx.node_id)
    return value


_STATE: dict[str, Any] = {"fingerprint": "a"}


def _fingerprint(text: str) -> Any:
    return _STATE["fingerprint"]


@node(category="stub", fingerprint=_fingerprint)
def StubFingerprint(ctx: Context, text: Annotated[str, String(multiline=True)] = "") -> Number:
    LOG.add(ctx.node_id)
    return text


@node(category="stub")
class StubCounter:
    """A class node: one instance per node id, reused across prompts."""

    def __init__(self) -> None:
        self.runs = 0

    def execute(self, ctx: Context, value: Number) -> Number:
        LOG.add(ctx.node_id)
        self.runs += 1
        return self.runs


@node(category="stub")
def StubRepeatScale(ctx: Context, value: Number, times: Annotated[int, Int(min=0, max=20)] = 2,
                    report: bool = False) -> Number:
    """Expands into ``times`` chained StubScale ×2 nodes (and, with ``report``, an output node showing the
    result), and outputs the end of the chain."""
    from inkgraph.engine.core.graph_builder import GraphBuilder

    LOG.add(ctx.node_id)
    g = GraphBuilder()
    current: Any = value
    for _ in range(times):
        current = g.node("StubScale", value=current, factor=2.0).out(0)
    if report:
        g.node("StubOutput", value=current, label="inner")
    return NodeOutput(result=(current,), expand=g.finalize())


@node(category="stub")
def StubBadExpand(ctx: Context, value: Number) -> Number:
    return NodeOutput(result=(["x.1", 0],), expand={"x.1": {"class_type": "NoSuchNode", "inputs": {}}})


STUB_NODES = [StubRepeatScale, StubBadExpand,
    StubConst, StubAdd, StubScale, StubNoop, StubOutput, StubPrompt, StubChoose, StubFail, StubSlow, StubPreview,
    StubRange, StubSum, StubVolatile, StubUncached, StubLazyMix, StubBlock, StubEven, StubFingerprint,
    StubCounter,
]


def stub_registry() -> NodeRegistry:
    registry = NodeRegistry()
    registry.load_pack("stub", "tests", lambda: STUB_NODES)
    return registry
