"""An example Inkgraph node pack (see docs/plugins.md): every node is one typed, decorated function."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from inkgraph import (
    CachePolicy,
    Context,
    Float,
    GraphBuilder,
    Image,
    Int,
    NodeOutput,
    Output,
    String,
    node,
)

WEB_DIRECTORY = "web"  # served at /extensions/<pack>/, listed by /extensions


@node(category="example", display_name="Tint Image")
def ExampleTint(ctx: Context, image: Image,
                color: Literal["red", "green", "blue"] = "red",
                strength: Annotated[float, Float(min=0.0, max=1.0, step=0.05, tooltip="How much tint")] = 0.5,
                ) -> Image:
    """Mixes a colour into the image, one batch item at a time, with progress and interruption."""
    channel = {"red": 0, "green": 1, "blue": 2}[color]
    out = image.clone()
    for index in range(out.shape[0]):
        ctx.check_interrupted()  # a cancellation point: Ctrl+C or /interrupt stops here
        out[index, ..., channel] = out[index, ..., channel] * (1 - strength) + strength
        ctx.progress(index + 1, out.shape[0])
    return out


@node(category="example", cache=CachePolicy.ALWAYS_RUN)
def ExampleNoise(seed: Annotated[int, Int(min=0, max=2**32 - 1, control_after_generate=True)] = 0,
                 width: Annotated[int, Int(min=8, max=4096, step=8)] = 64,
                 height: Annotated[int, Int(min=8, max=4096, step=8)] = 64) -> Image:
    """Random pixels; ALWAYS_RUN: it (and what follows it) runs on every prompt, as if IS_CHANGED were NaN."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    return torch.rand(1, height, width, 3, generator=generator)


@node(category="example")
async def ExampleDelayedText(text: Annotated[str, String(multiline=True)] = "hello",
                             delay: Annotated[float, Float(min=0.0, max=10.0)] = 0.0,
                             ) -> Annotated[str, Output(name="STRING", type="STRING")]:
    """An async node: awaits (network calls, subprocesses …) without blocking the server."""
    await asyncio.sleep(delay)
    return text.upper()


@node(category="example")
def ExampleRepeatTint(image: Image, times: Annotated[int, Int(min=0, max=16)] = 2,
                      color: Literal["red", "green", "blue"] = "red") -> Image:
    """Node expansion: returns a chain of ExampleTint nodes for the engine to run (and cache) itself."""
    graph = GraphBuilder()  # inside a node, ids get a prefix unique to this node and call
    current: Any = image
    for _ in range(times):
        current = graph.node("ExampleTint", image=current, color=color, strength=0.25).out(0)
    return NodeOutput(result=(current,), expand=graph.finalize())


@node(category="example", output_node=True, outputs=[])
def ExampleStats(image: Image) -> NodeOutput:
    """An output node: shows text under the node in the canvas (the ``ui`` of ComfyUI's history)."""
    mean = [round(float(image[..., c].mean()), 3) for c in range(image.shape[-1])]
    return NodeOutput(ui={"text": [f"{image.shape[2]}×{image.shape[1]}, mean RGB {mean}"]})


@node(category="example", output_node=True, outputs=[])
def ExampleShowText(text: Annotated[str, String(force_input=True)]) -> NodeOutput:
    """Shows a connected string under the node."""
    return NodeOutput(ui={"text": [text]})


NODES = [ExampleTint, ExampleNoise, ExampleDelayedText, ExampleRepeatTint, ExampleStats, ExampleShowText]


def node_list() -> list[Any]:
    """The entry point: Inkgraph calls this once at start."""
    return list(NODES)
