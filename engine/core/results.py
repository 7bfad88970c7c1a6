"""What a node call may return, normalised into one shape for the executor.

ComfyUI nodes return a tuple, a ``{"ui", "result", "expand"}`` dict, or an ``ExecutionBlocker``; native
nodes return their value(s) or a :class:`NodeOutput`. :func:`normalize_result` turns any of these into a
:class:`NodeOutput` so the executor has a single code path.
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field
from typing import Any


class ExecutionBlocker:
    """A value that stops every consumer from running (ComfyUI's ``ExecutionBlocker``).

    With a message, the blocked consumer reports an ``execution_error`` of type ``ExecutionBlocked``;
    with ``None`` it is skipped silently. Used for conditional execution.
    """

    __slots__ = ("message",)

    def __init__(self, message: str | None = None) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"ExecutionBlocker({self.message!r})"


@dataclass(slots=True)
class NodeOutput:
    """A node's return: output values (one per output socket), UI data for the client, an expansion."""

    result: tuple[Any, ...] | None = None
    ui: dict[str, list[Any]] | None = None
    expand: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class ResultError(TypeError):
    """A node returned something that does not match its declared outputs."""


def normalize_result(value: Any, n_outputs: int, *, wrap_single: bool) -> NodeOutput:
    """Bring a node's return value into :class:`NodeOutput` form and check its arity.

    ``wrap_single`` is the native convention: a one-output node may return the bare value (even a dict),
    and UI data travels in a :class:`NodeOutput`. ComfyUI nodes return a tuple or a ``{"ui", "result"}``
    dict, so their adapter passes ``False``.
    """
    if isinstance(value, NodeOutput):
        out = value
    elif isinstance(value, ExecutionBlocker):
        out = NodeOutput(result=(value,) * n_outputs)
    elif not wrap_single and isinstance(value, dict) and ({"ui", "result", "expand"} & value.keys()):
        result = value.get("result")
        out = NodeOutput(
            result=tuple(result) if result is not None else None,
            ui=value.get("ui"),
            expand=value.get("expand"),
        )
    elif value is None:
        out = NodeOutput()
    elif wrap_single and n_outputs == 1:
        out = NodeOutput(result=(value,))
    elif isinstance(value, (tuple, list)):
        out = NodeOutput(result=tuple(value))
    else:
        raise ResultError(f"expected a tuple of {n_outputs} values, got {type(value).__name__}")
    given = out.result
    if given is None:
        if n_outputs and out.expand is None:
            raise ResultError(f"returned no result for {n_outputs} declared output(s)")
    elif len(given) < n_outputs and not wrap_single:
        # ComfyUI keeps the values a node returned and fails only a consumer of a missing one (Comfyroll's
        # nodes declare a "show_help" output they never return): a blocker with a message does the same here
        missing = ExecutionBlocker(f"the node returned {len(given)} of its {n_outputs} outputs; this input is "
                                   "linked to one it did not return")
        out = NodeOutput(result=(*given, *(missing,) * (n_outputs - len(given))), ui=out.ui, expand=out.expand,
                         extras=out.extras)
    elif len(given) != n_outputs:
        raise ResultError(f"returned {len(given)} value(s) for {n_outputs} declared output(s)")
    if out.ui is not None and not isinstance(out.ui, dict):
        raise ResultError(f"'ui' must be a dict of lists, got {type(out.ui).__name__}")
    return out


def settle(value: Any) -> Any:
    """The value of an ``async`` node function (or hook): awaited to completion on a private event loop,
    since nodes run in the executor's thread, which has none. Plain values pass through."""
    if not inspect.isawaitable(value):
        return value

    async def wait() -> Any:
        return await value

    return asyncio.run(wait())


def full_type_name(klass: type) -> str:
    """An exception's type as ComfyUI reports it (``exception_type``): ``ValueError``, ``mypack.nodes.Error``."""
    module = klass.__module__
    return klass.__qualname__ if module == "builtins" else f"{module}.{klass.__qualname__}"
