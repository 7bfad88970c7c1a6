"""Primitive values as nodes, to feed one number or text into several inputs (ComfyUI's Primitive*)."""

from __future__ import annotations

import sys
from typing import Annotated

from inkgraph.engine import Boolean, Float, Int, String, node

_LIMIT = sys.maxsize


@node(display_name="Int", category="utils/primitive")
def PrimitiveInt(value: Annotated[int, Int(min=-_LIMIT, max=_LIMIT, control_after_generate=True)] = 0) -> int:
    return value


@node(display_name="Float", category="utils/primitive")
def PrimitiveFloat(value: Annotated[float, Float(min=-_LIMIT, max=_LIMIT, step=0.1)] = 0.0) -> float:
    return value


@node(display_name="String", category="utils/primitive")
def PrimitiveString(value: Annotated[str, String(multiline=False)] = "") -> str:
    return value


@node(display_name="String (Multiline)", category="utils/primitive")
def PrimitiveStringMultiline(value: Annotated[str, String(multiline=True)] = "") -> str:
    return value


@node(display_name="Boolean", category="utils/primitive")
def PrimitiveBoolean(value: Annotated[bool, Boolean()] = False) -> bool:
    return value


NODES = [PrimitiveInt, PrimitiveFloat, PrimitiveString, PrimitiveStringMultiline, PrimitiveBoolean]
