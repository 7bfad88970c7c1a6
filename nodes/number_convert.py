"""ComfyNumberConvert (ComfyUI's ``comfy_extras/nodes_number_convert.py``): one INT, FLOAT, STRING or
BOOLEAN value as a FLOAT and an INT."""

from __future__ import annotations

import math
from typing import Annotated, Any

from inkgraph.engine import Output, Socket, node

VALUE_TYPES = "INT,FLOAT,STRING,BOOLEAN"  # a V3 MultiType input: any of these links


def convert(value: Any) -> tuple[float, int]:
    """ComfyUI's rules: booleans are 0/1; floats truncate toward zero; strings are stripped and parsed, as an
    integer when they are one (so "12345678901234567890" keeps every digit), else as a float and truncated;
    empty, unparsable and non-finite values are errors."""
    if isinstance(value, bool):
        return float(value), int(value)
    if isinstance(value, int):
        return float(value), value
    if isinstance(value, float):
        as_float, as_int = value, (int(value) if math.isfinite(value) else 0)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("ComfyNumberConvert: cannot convert an empty string to a number (input 'value')")
        try:
            as_float = float(text)
        except ValueError:
            raise ValueError(f"ComfyNumberConvert: cannot convert string to number: {value!r} (input 'value')"
                             ) from None
        if not math.isfinite(as_float):
            raise ValueError(f"ComfyNumberConvert: cannot convert non-finite value to number: {as_float}")
        try:
            as_int = int(text)
        except ValueError:
            as_int = int(as_float)
    else:
        raise TypeError(f"ComfyNumberConvert: unsupported input type for 'value': {type(value).__name__}")
    if not math.isfinite(as_float):
        raise ValueError(f"ComfyNumberConvert: cannot convert non-finite value to number: {as_float}")
    return as_float, as_int


@node(display_name="Number Convert", category="math")
def ComfyNumberConvert(
    value: Annotated[Any, Socket(type=VALUE_TYPES, extra={"display_name": "value"})],
) -> tuple[Annotated[float, Output("FLOAT")], Annotated[int, Output("INT")]]:
    """Converts a number, text or boolean into FLOAT and INT outputs (see :func:`convert`)."""
    return convert(value)


NODES = [ComfyNumberConvert]
