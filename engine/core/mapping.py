"""ComfyUI's list semantics: calling a node once per list item and merging what the calls return.

Every output socket carries a Python list of items (a batch is one item: a tensor with a batch
dimension). A node is called once per index of its longest input list, shorter lists repeating their
last item; ``input_is_list`` nodes get whole lists in one call. An ``ExecutionBlocker`` among a call's
inputs skips that call and blocks its outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .results import ExecutionBlocker, NodeOutput, ResultError
from .spec import NodeSpec

Call = Callable[[dict[str, Any]], NodeOutput]


def _blocker_in(inputs: dict[str, Any]) -> ExecutionBlocker | None:
    for value in inputs.values():
        if isinstance(value, ExecutionBlocker):
            return value
    return None


def map_over_lists(
    spec: NodeSpec, input_lists: dict[str, list[Any]], call: Call, before_call: Callable[[], None]
) -> tuple[list[NodeOutput], list[ExecutionBlocker]]:
    """Run ``call`` over the input lists; returns the results and the blockers that stopped calls."""
    results: list[NodeOutput] = []
    blocked: list[ExecutionBlocker] = []
    if spec.input_is_list:
        before_call()
        results.append(call(dict(input_lists)))
        return results, blocked
    if not input_lists:
        before_call()
        results.append(call({}))
        return results, blocked
    lengths = [len(v) for v in input_lists.values()]
    if min(lengths) == 0:
        return results, blocked  # an empty list upstream: nothing to map over, outputs stay empty
    length = max(lengths)
    if length == 1:  # the common case: one item per input, one call
        args = {k: v[0] for k, v in input_lists.items()}
        blocker = _blocker_in(args)
        if blocker is not None:
            return [NodeOutput(result=(blocker,) * len(spec.outputs))], [blocker]
        before_call()
        return [call(args)], blocked
    for index in range(length):
        args = {k: v[index] if index < len(v) else v[-1] for k, v in input_lists.items()}
        blocker = _blocker_in(args)
        if blocker is not None:
            blocked.append(blocker)
            results.append(NodeOutput(result=(blocker,) * len(spec.outputs)))
            continue
        before_call()
        results.append(call(args))
    return results, blocked


def merge_results(spec: NodeSpec, results: list[NodeOutput]) -> tuple[tuple[list[Any], ...], dict[str, Any] | None]:
    """Per-call results → one list per output socket, plus the UI dicts merged key by key."""
    if len(results) == 1 and not spec.has_list_outputs:  # the common case: one call
        only = results[0]
        if only.result is None:
            return tuple([] for _ in spec.outputs), _merge_ui([only.ui] if only.ui else [])
        return tuple([value] for value in only.result), _merge_ui([only.ui] if only.ui else [])
    outputs: list[list[Any]] = [[] for _ in spec.outputs]
    for result in results:
        if result.result is None:
            continue
        for slot, (out_spec, value) in enumerate(zip(spec.outputs, result.result, strict=True)):
            if out_spec.is_list and not isinstance(value, ExecutionBlocker):
                if not isinstance(value, (list, tuple)):
                    raise ResultError(f"output {slot} ({out_spec.name}) is a list output but got "
                                      f"{type(value).__name__}")
                outputs[slot].extend(value)
            else:
                outputs[slot].append(value)
    return tuple(outputs), _merge_ui([r.ui for r in results if r.ui])


def _merge_ui(uis: list[dict[str, Any]]) -> dict[str, Any] | None:
    """UI dicts of several calls → one, concatenating the lists under each key (ComfyUI's merge)."""
    if not uis:
        return None
    ui: dict[str, Any] = {}
    for part in uis:
        for key, values in part.items():
            ui.setdefault(key, []).extend(values if isinstance(values, (list, tuple)) else [values])
    return ui
