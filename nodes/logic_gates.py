"""Truthiness gates (ComfyUI's ``comfy_extras/nodes_logic.py``): Not, And, Or over values of any type, and Pass
or None (a value, else a default, and whether neither was given). Python's truthiness decides, as in ComfyUI:
0, "", empty lists and None are false."""

from __future__ import annotations

from typing import Annotated, Any

from inkgraph.engine import MATCHTYPE_TYPE, Autogrow, MatchType, Output, Socket, input_spec, node

CATEGORY = "utilities/logic"
Boolean = Annotated[bool, Socket(type="BOOLEAN"), Output()]
_VALUE = input_spec("value", Annotated[Any, Socket(type="*")])
Values = Annotated[dict[str, Any], Autogrow(_VALUE, prefix="value", min=1)]


@node(display_name="Not", category=CATEGORY,
      description="Logical NOT operation. Returns true if the value is falsy. Uses Python's rules for truthiness.")
def ComfyNotNode(value: Annotated[Any, Socket(type="*")]) -> Boolean:
    return not value


@node(display_name="And", category=CATEGORY, description=(
    "Logical AND operation. Returns true if all of the values are truthy. Uses Python's rules for truthiness."))
def ComfyAndNode(*, values: Values) -> Boolean:
    return all(values.values())


@node(display_name="Or", category=CATEGORY, description=(
    "Logical OR operation. Returns true if any of the values are truthy. Uses Python's rules for truthiness."))
def ComfyOrNode(*, values: Values) -> Boolean:
    return any(values.values())


PASS_TIP = ("Passes the input through, or a default value when input is None/not provided, or outputs None when "
            "both inputs are None/not provided.")


@node(display_name="Pass or None", category=CATEGORY, description=PASS_TIP)
def ComfyPassOrNoneNode(
    anything: Annotated[Any, MatchType("value", tooltip=PASS_TIP, optional=True)] = None,
    default: Annotated[Any, MatchType("value", tooltip="Fallback value to use when the input is None/not provided.",
                                      optional=True)] = None,
) -> tuple[Annotated[Any, Output(type=MATCHTYPE_TYPE, matchtype="value")], Boolean]:
    """``anything`` when it is given (not None), else ``default``; the flag says the result is None."""
    if anything is None:
        return default, default is None
    return anything, False


NODES = [ComfyNotNode, ComfyAndNode, ComfyOrNode, ComfyPassOrNoneNode]
