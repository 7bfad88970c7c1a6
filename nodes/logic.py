"""Control flow and small utilities: the lazy if/else switch, the canvas-defined combo, previewing any
value as text, resolution from an aspect ratio (ComfyUI's ``nodes_logic``, ``nodes_preview_any`` and
``nodes_resolution``)."""

from __future__ import annotations

import json
import math
import threading
from typing import Annotated, Any

from inkgraph.engine import MATCHTYPE_TYPE, Boolean, Combo, Float, Int, MatchType, NodeOutput, Output, Socket, node

_SWITCH = MatchType("switch", lazy=True)


def _switch_needs(switch: bool, on_false: Any = None, on_true: Any = None) -> list[str]:
    """Only the branch the switch selects is evaluated; the other one's nodes never run."""
    if switch and on_true is None:
        return ["on_true"]
    if not switch and on_false is None:
        return ["on_false"]
    return []


@node(display_name="Switch", category="logic", experimental=True, check_lazy=_switch_needs)
def ComfySwitchNode(
    switch: Annotated[bool, Boolean()],
    on_false: Annotated[Any, _SWITCH],
    on_true: Annotated[Any, _SWITCH],
) -> Annotated[Any, Output("output", type=MATCHTYPE_TYPE, matchtype="switch")]:
    """on_true when switch is on, else on_false."""
    return on_true if switch else on_false


def _any_choice(**kwargs: Any) -> bool:
    """The options live in the canvas (widgets option0, option1 …), so any choice is valid."""
    return True


@node(display_name="Custom Combo", category="utils", experimental=True, accept_all_inputs=True,
      validate=_any_choice)
def CustomCombo(
    choice: Annotated[str, Combo(options=())],
    **kwargs: Any,
) -> tuple[Annotated[str, Output("STRING")], Annotated[int, Output("INDEX")]]:
    """The chosen text and its position among the options; the canvas sends the position as "index"."""
    index = kwargs.get("index", 0)
    try:
        index = int(index)
    except (TypeError, ValueError):
        raise ValueError(f"CustomCombo: input 'index' must be an integer, got {index!r}") from None
    return choice, index


_PRINT_LOCK = threading.Lock()


def preview_text(source: Any) -> str:
    """ComfyUI's rendering of a value as text: strings as they are, numbers and booleans with str(),
    anything JSON can hold as indented JSON, other objects (tensors …) with str()."""
    if source is None:
        return "None"
    if isinstance(source, str):
        return source
    if isinstance(source, (int, float, bool)):
        return str(source)
    try:
        return json.dumps(source, indent=4, ensure_ascii=False)
    except Exception:  # noqa: BLE001 - any object may fail to serialise; fall back to its str()
        pass
    try:
        import torch

        with _PRINT_LOCK:  # torch's print options are process-wide; ComfyUI shows 6 edge items
            torch.set_printoptions(edgeitems=6)
            try:
                return str(source)
            finally:
                torch.set_printoptions(profile="default")
    except Exception:  # noqa: BLE001
        return "source exists, but could not be serialized."


@node(display_name="Preview as Text", category="utils", output_node=True, outputs=["STRING"],
      description="Preview any input value as text.")
def PreviewAny(source: Annotated[Any, Socket(type="*")]) -> NodeOutput:
    text = preview_text(source)
    return NodeOutput(result=(text,), ui={"text": [text]})




ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    "1:1 (Square)": (1, 1),
    "2:3 (Portrait Photo)": (2, 3),
    "3:2 (Photo)": (3, 2),
    "3:4 (Portrait Standard)": (3, 4),
    "4:3 (Standard)": (4, 3),
    "9:16 (Portrait Widescreen)": (9, 16),
    "16:9 (Widescreen)": (16, 9),
    "21:9 (Ultrawide)": (21, 9),
}


@node(display_name="Resolution Selector", category="utilities",
      description="Calculate width and height from aspect ratio and megapixel target. Useful for setting up "
                  "Empty Latent Image dimensions.")
def ResolutionSelector(
    aspect_ratio: Annotated[str, Combo(options=tuple(ASPECT_RATIOS),
                                       tooltip="The aspect ratio for the output dimensions.")] = "1:1 (Square)",
    megapixels: Annotated[float, Float(min=0.1, max=16.0, step=0.1, tooltip=(
        "Target total megapixels. 1.0 MP ≈ 1024x1024 for square."))] = 1.0,
    multiple: Annotated[int, Int(min=8, max=128, step=4, tooltip=(
        "Nearest multiple of the result to set the selected resolution to."))] = 8,
) -> tuple[Annotated[int, Output("width", tooltip="Calculated width in pixels multiplied by the selected multiple.")],
           Annotated[int, Output("height",
                                 tooltip="Calculated height in pixels multiplied by the selected multiple.")]]:
    w_ratio, h_ratio = ASPECT_RATIOS[aspect_ratio]
    scale = math.sqrt(megapixels * 1024 * 1024 / (w_ratio * h_ratio))
    return round(w_ratio * scale / multiple) * multiple, round(h_ratio * scale / multiple) * multiple


NODES = [ComfySwitchNode, CustomCombo, PreviewAny, ResolutionSelector]
