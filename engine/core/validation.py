"""Prompt validation with ComfyUI's error vocabulary, all errors at once, and the execution plan.

The result is either a POST /prompt error body exactly as ComfyUI shapes it (``error`` + ``node_errors``)
or a :class:`Plan`: the nodes the good outputs need, their coerced constants and links, in dependency
order. Validation never recurses: a 100,000-node chain validates in one pass (ComfyUI overflows Python's
stack at about a thousand).
"""

from __future__ import annotations

import difflib
import logging
import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from . import graph
from .dynamic import declares, expanded_inputs
from .paths import Folders
from .registry import NodeRegistry
from .results import full_type_name
from .spec import MATCHTYPE, WIDGET_TYPES, InputSpec, NodeSpec, types_compatible
from .workflow import is_link, unwrap_constant

log = logging.getLogger(__name__)

_COERCE: dict[str, TypeAdapter[Any]] = {
    "INT": TypeAdapter(int),
    "FLOAT": TypeAdapter(float),
    "STRING": TypeAdapter(str, config={"coerce_numbers_to_str": True}),
    "BOOLEAN": TypeAdapter(bool),
}
_EXACT: dict[str, type] = {"INT": int, "FLOAT": float, "STRING": str, "BOOLEAN": bool}
_LIST_INFO_LIMIT = 20  # ComfyUI summarises longer choice lists (model folders) instead of echoing them


class ErrorDetail(BaseModel):
    """One error, ComfyUI-shaped: ``{"type", "message", "details", "extra_info"}``."""

    type: str
    message: str
    details: str = ""
    extra_info: dict[str, Any] = Field(default_factory=dict)


class NodeErrors(BaseModel):
    errors: list[ErrorDetail]
    dependent_outputs: list[str] = Field(default_factory=list)
    class_type: str


@dataclass(slots=True)
class PlannedNode:
    """A validated node: what the executor needs and nothing else."""

    id: str
    spec: NodeSpec
    constants: dict[str, Any]
    links: dict[str, tuple[str, int]]


@dataclass(slots=True)
class Plan:
    """What to run: the nodes the good outputs need, in an order where sources come first."""

    prompt: dict[str, Any]
    nodes: dict[str, PlannedNode]
    outputs: list[str]
    order: list[str]
    folders: Folders | None = None
    # class_type → spec, for the subgraphs nodes return while the plan runs (node expansion)
    spec_of: Callable[[str], NodeSpec | None] | None = None


@dataclass(slots=True)
class ValidationResult:
    ok: bool
    error: ErrorDetail | None = None
    node_errors: dict[str, NodeErrors] = field(default_factory=dict)
    plan: Plan | None = None

    def error_body(self) -> dict[str, Any]:
        """The HTTP 400 body of POST /prompt."""
        return {
            "error": self.error.model_dump() if self.error else None,
            "node_errors": {k: v.model_dump() for k, v in self.node_errors.items()},
        }


def _err(type_: str, message: str, details: str, **extra: Any) -> ErrorDetail:
    return ErrorDetail(type=type_, message=message, details=details, extra_info=extra)


def closest_types(class_type: str, registry: NodeRegistry, limit: int = 3) -> list[str]:
    """The installed node types a misspelt ``class_type`` most likely meant (case ignored)."""
    by_lower: dict[str, str] = {}
    for spec in registry:
        by_lower.setdefault(spec.class_type.lower(), spec.class_type)
    matches = difflib.get_close_matches(class_type.lower(), list(by_lower), n=limit, cutoff=0.75)
    return [by_lower[m] for m in matches]


def _prompt_error(type_: str, message: str, details: str = "",
                  node_errors: dict[str, NodeErrors] | None = None) -> ValidationResult:
    return ValidationResult(ok=False, error=_err(type_, message, details), node_errors=node_errors or {})


def _check_constant(spec: InputSpec, name: str, raw: Any, folders: Folders | None,
                    custom: bool) -> tuple[Any, ErrorDetail | None]:
    """Coerce one constant to its input type and check min/max/choices (unless custom-validated)."""
    value = unwrap_constant(raw)
    adapter = _COERCE.get(spec.widget_type)
    if adapter is not None and type(value) is _EXACT.get(spec.widget_type):
        pass  # already the right type: the common case needs no coercion
    elif adapter is not None:
        try:
            value = adapter.validate_python(value)
        except PydanticValidationError as exc:
            reason = exc.errors()[0]["msg"]
            return value, _err("invalid_input_type", f"Failed to convert an input value to a {spec.type} value",
                               f"{name}, {value}, {reason}", input_name=name,
                               input_config=spec.input_config(folders), received_value=value,
                               exception_message=reason)
    elif spec.is_frontend_widget or spec.type == MATCHTYPE:
        # the canvas's own widgets (image compare, box editor …) and match-type sockets, which the canvas gives
        # a widget when the matched type has one (a Switch on text): any JSON value, as ComfyUI accepts
        return value, None
    elif not spec.is_combo and spec.type != "*" and not (set(spec.type.split(",")) & WIDGET_TYPES):
        return value, _err("invalid_input_type", f"Failed to convert an input value to a {spec.type} value",
                           f"{name}, {value!r}, a {spec.type} input takes a link to another node's output",
                           input_name=name, input_config=spec.input_config(folders), received_value=value,
                           exception_message=f"{spec.type} is not a widget type")
    if isinstance(value, float) and not math.isfinite(value):  # NaN passes every min/max comparison
        return value, _err("invalid_input_type", f"Failed to convert an input value to a {spec.type} value",
                           f"{name}, {value}, numbers must be finite", input_name=name,
                           input_config=spec.input_config(folders), received_value=str(value),
                           exception_message="numbers must be finite")
    if custom:
        return value, None
    if spec.min is not None and value < spec.min:
        return value, _err("value_smaller_than_min", f"Value {value} smaller than min of {spec.min}", name,
                           input_name=name, input_config=spec.input_config(folders), received_value=value)
    if spec.max is not None and value > spec.max:
        return value, _err("value_bigger_than_max", f"Value {value} bigger than max of {spec.max}", name,
                           input_name=name, input_config=spec.input_config(folders), received_value=value)
    if spec.is_combo:
        choices = spec.current_choices(folders)
        if value not in choices:
            long = len(choices) > _LIST_INFO_LIMIT
            list_info = f"(list of length {len(choices)})" if long else str(choices)
            return value, _err("value_not_in_list", "Value not in list", f"{name}: '{value}' not in {list_info}",
                               input_name=name,
                               input_config=None if long else spec.input_config(folders, choices),
                               received_value=value)
    return value, None


def _over_budget(spec: NodeSpec, constants: dict[str, Any], budget: int, folders: Folders | None
                 ) -> list[ErrorDetail]:
    """A node that would allocate more pixels than ``budget``: ComfyUI's ``value_bigger_than_max`` on its
    last allocation input (the batch size), with the largest value that would fit given the others."""
    allocation = spec.allocation
    assert allocation is not None
    pixels = allocation.pixels(constants)
    if pixels is None or pixels <= budget:
        return []
    name = allocation.inputs[-1]
    value = constants[name]
    others = pixels // value if value else 0
    allowed = budget // others if others else 0
    estimate = pixels * allocation.bytes_per_pixel
    inp = spec.input(name)
    return [_err("value_bigger_than_max", f"Value {value} bigger than max of {allowed}",
                 f"{name} ({' × '.join(allocation.inputs)} = {pixels:,} pixels, about {_bytes(estimate)}, is over "
                 f"this server's budget of {budget:,} pixels per node; see --max-batch-pixels)",
                 input_name=name, input_config=inp.input_config(folders) if inp else None, received_value=value,
                 estimated_bytes=int(estimate), max_batch_pixels=budget)]


def _bytes(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} PiB"


class _Checker:
    """Per-node checks, producing PlannedNodes and errors; links are followed later, not recursively."""

    def __init__(self, prompt: dict[str, Any], specs: dict[str, NodeSpec], folders: Folders | None,
                 values_on_sockets: bool = False, max_batch_pixels: int = 0) -> None:
        self.prompt = prompt
        self.specs = specs
        self.folders = folders
        self.max_batch_pixels = max_batch_pixels
        # Subgraphs made by nodes may set socket inputs to values (a tensor, a loop's state), not only links.
        self.values_on_sockets = values_on_sockets

    def sources_of(self, node_id: str) -> list[str]:
        """Ids of the prompt nodes that the node's spec will read through links."""
        spec = self.specs[node_id]
        return [value[0] for name, value in self.prompt[node_id].get("inputs", {}).items()
                if is_link(value) and value[0] in self.specs
                and (spec.accepts_extra_inputs or spec.accepts_all_inputs or declares(spec, name))]

    def check(self, node_id: str) -> tuple[PlannedNode, list[ErrorDetail]]:
        spec = self.specs[node_id]
        raw_inputs: dict[str, Any] = self.prompt[node_id].get("inputs", {})
        errors: list[ErrorDetail] = []
        constants: dict[str, Any] = {}
        links: dict[str, tuple[str, int]] = {}
        received: dict[str, Any] = {}
        inputs = expanded_inputs(spec, raw_inputs)
        for inp in inputs:
            name = inp.name
            if name not in raw_inputs:
                if not inp.optional:
                    errors.append(_err("required_input_missing", "Required input is missing", name,
                                       input_name=name))
                continue
            value = raw_inputs[name]
            if isinstance(value, list) and not is_link(value):
                errors.append(_err("bad_linked_input",
                                   "Bad linked input, must be a length-2 list of [node_id, slot_index]", name,
                                   input_name=name, input_config=inp.input_config(self.folders),
                                   received_value=value))
                continue
            if is_link(value):
                link_error = self._check_link(spec, inp, name, value, received)
                if link_error is not None:
                    errors.append(link_error)
                elif inp.raw_link:  # the node receives the link itself and does not wait for its source
                    constants[name] = [value[0], int(value[1])]
                else:
                    links[name] = (value[0], int(value[1]))
                continue
            if self.values_on_sockets and not inp.is_widget:
                constants[name] = unwrap_constant(value)
                continue
            custom = spec.custom_validates_all or name in spec.custom_validated
            coerced, error = _check_constant(inp, name, value, self.folders, custom)
            if error is not None:
                errors.append(error)
            else:
                constants[name] = coerced
        if spec.accepts_extra_inputs or spec.accepts_all_inputs:
            declared = {i.name for i in inputs}
            for name, value in raw_inputs.items():
                if name in declared:
                    continue
                if is_link(value):
                    if value[0] in self.prompt:
                        links[name] = (value[0], int(value[1]))
                elif spec.accepts_all_inputs:  # V3 accept_all_inputs: canvas-defined widgets pass through
                    constants[name] = unwrap_constant(value)
        if spec.allocation is not None and self.max_batch_pixels and not errors:
            errors.extend(_over_budget(spec, constants, self.max_batch_pixels, self.folders))
        if spec.has_custom_validation and not errors:
            errors.extend(self._custom(spec, constants, received))
        return PlannedNode(node_id, spec, constants, links), errors

    def _check_link(self, consumer: NodeSpec, inp: InputSpec, name: str, value: list[Any],
                    received: dict[str, Any]) -> ErrorDetail | None:
        source_id, slot = value[0], int(value[1])
        source = self.specs.get(source_id)
        if source is None:
            return _err("bad_linked_input", "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                        f"{name}: node '{source_id}' does not exist in the prompt", input_name=name,
                        input_config=inp.input_config(self.folders), received_value=value)
        if not 0 <= slot < len(source.outputs):
            return _err("bad_linked_input", "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                        f"{name}: node '{source_id}' ({source.class_type}) has no output {slot}",
                        input_name=name, input_config=inp.input_config(self.folders), received_value=value)
        received_type = source.outputs[slot].type
        received[name] = received_type
        expected = inp.type
        # A node whose validator takes input_types checks link types itself (ComfyUI's rule).
        if not consumer.wants_input_types and not types_compatible(received_type, expected):
            shown = list(received_type) if isinstance(received_type, tuple) else received_type
            return _err("return_type_mismatch", "Return type mismatch between linked nodes",
                        f"{name}, received_type({shown}) mismatch input_type({expected})",
                        input_name=name, input_config=inp.input_config(self.folders), received_type=shown,
                        linked_node=value)
        return None

    def _custom(self, spec: NodeSpec, constants: dict[str, Any], received: dict[str, Any]) -> list[ErrorDetail]:
        wanted = {k: v for k, v in constants.items() if spec.custom_validates_all or k in spec.custom_validated}
        try:
            result = spec.impl.validate(wanted, received if spec.wants_input_types else None, self.folders)
        except Exception as exc:
            return [_err("exception_during_validation", "Exception when validating node", str(exc),
                         exception_type=full_type_name(type(exc)),
                         traceback=traceback.format_tb(exc.__traceback__))]
        if result is True:
            return []
        reason = "" if result is False else f" - {result}"
        names = list(wanted) or [""]
        return [_err("custom_validation_failed", "Custom validation failed for node", f"{n}{reason}",
                     input_name=n) for n in names]


def validate_prompt(
    prompt: Any,
    registry: NodeRegistry,
    folders: Folders | None = None,
    partial_execution_targets: list[str] | None = None,
    max_batch_pixels: int = 0,
) -> ValidationResult:
    """Validate an API prompt; on success the result carries the :class:`Plan` to execute.

    ``max_batch_pixels`` (0: none) bounds what each node with an :class:`Allocation` may ask for.
    """
    if not isinstance(prompt, dict):
        return _prompt_error("invalid_prompt", "Cannot execute because the prompt is not an object.",
                             f"got {type(prompt).__name__}")
    specs: dict[str, NodeSpec] = {}
    missing: dict[str, NodeErrors] = {}
    first_missing: ErrorDetail | None = None
    for node_id, node in prompt.items():
        if not isinstance(node, dict) or not isinstance(node.get("inputs", {}), dict):
            return _prompt_error("invalid_prompt", "Cannot execute because a node is not an object with "
                                 "class_type and inputs.", f"Node ID '#{node_id}'")
        class_type = node.get("class_type")
        if not isinstance(class_type, str):
            return _prompt_error("invalid_prompt",
                                 "Cannot execute because a node is missing the class_type property.",
                                 f"Node ID '#{node_id}'")
        spec = registry.get(class_type)
        if spec is None:
            title = ((node.get("_meta") or {}).get("title")) or class_type
            suggestions = closest_types(class_type, registry)
            details = f"Node ID '#{node_id}'" + (f"; did you mean {' or '.join(suggestions)}?" if suggestions else "")
            # ComfyUI's message names the node's title; a title says nothing about what to install (a typo
            # in the class of a node titled 'KSampler' read "Node 'KSampler' not found"): the class, here
            missing[node_id] = NodeErrors(class_type=class_type, errors=[_err(
                "missing_node_type", f"Node '{class_type}' not found. The custom node may not be installed.",
                details, node_id=node_id, class_type=class_type, node_title=title, suggestions=suggestions)])
            first_missing = first_missing or _err(
                "invalid_prompt", f"Cannot execute because node {class_type} does not exist.", details)
            continue
        specs[node_id] = spec
    if first_missing is not None:
        names = sorted({e.class_type for e in missing.values()})
        log.error("prompt uses unknown node types: %s", ", ".join(names))
        return ValidationResult(ok=False, error=first_missing, node_errors=missing)

    outputs = [n for n, s in specs.items() if s.output_node]
    if partial_execution_targets is not None:
        targets = set(partial_execution_targets)
        outputs = [n for n in outputs if n in targets]
    if not outputs:
        return _prompt_error("prompt_no_outputs", "Prompt has no outputs")

    checker = _Checker(prompt, specs, folders, max_batch_pixels=max_batch_pixels)
    needed = graph.upstream(outputs, checker.sources_of)
    planned: dict[str, PlannedNode] = {}
    reasons: dict[str, list[ErrorDetail]] = {}
    for node_id in needed:
        try:
            planned[node_id], errors = checker.check(node_id)
        except Exception as exc:
            errors = [_err("exception_during_validation", "Exception when validating node", str(exc),
                           exception_type=full_type_name(type(exc)),
                           traceback=traceback.format_tb(exc.__traceback__))]
        if errors:
            reasons[node_id] = errors
    edges = {n: [src for src, _ in p.links.values() if src in planned] for n, p in planned.items()}
    for cycle in graph.cycles(edges):
        path = " -> ".join([*cycle, cycle[0]])
        for node_id in cycle:
            reasons.setdefault(node_id, []).append(_err(
                "dependency_cycle", "Dependency cycle detected", f"nodes {path} form a cycle",
                cycle=list(cycle)))

    bad = graph.downstream(reasons, edges, needed) if reasons else set()
    good_outputs = [o for o in outputs if o not in bad]
    node_errors: dict[str, NodeErrors] = {}
    for output in outputs:
        if output not in bad:
            continue
        for node_id in graph.upstream([output], lambda n: edges.get(n, [])):
            if node_id in reasons:
                entry = node_errors.setdefault(node_id, NodeErrors(
                    errors=reasons[node_id], class_type=specs[node_id].class_type))
                entry.dependent_outputs.append(output)
    for node_id, entry in node_errors.items():
        log.error("validation: %s %s: %s", entry.class_type, node_id,
                  "; ".join(f"{e.message}: {e.details}" for e in entry.errors))
    if not good_outputs:
        details = "\n".join(f"{e.message}: {e.details}" for entry in node_errors.values() for e in entry.errors)
        return _prompt_error("prompt_outputs_failed_validation", "Prompt outputs failed validation", details,
                             node_errors)
    keep = needed if not bad else graph.upstream(good_outputs, lambda n: edges.get(n, []))
    order = graph.topological_order(keep, edges)
    plan = Plan(prompt=prompt, nodes={n: planned[n] for n in order}, outputs=good_outputs, order=order,
                folders=folders, spec_of=registry.get)
    return ValidationResult(ok=True, node_errors=node_errors, plan=plan)


def plan_subgraph(prompt: dict[str, Any], specs: dict[str, NodeSpec], node_ids: list[str],
                  folders: Folders | None) -> tuple[dict[str, PlannedNode], list[str], dict[str, str]]:
    """Check the nodes ``node_ids`` of ``prompt`` (their links may also reach nodes outside them).

    Returns (planned nodes, their dependency order, "message: details" per node that failed). Used for the
    subgraphs nodes add while a prompt runs, which get the same checks as the prompt itself.
    """
    checker = _Checker(prompt, specs, folders, values_on_sockets=True)
    planned: dict[str, PlannedNode] = {}
    errors: dict[str, str] = {}
    for node_id in node_ids:
        planned[node_id], found = checker.check(node_id)
        if found:
            errors[node_id] = "; ".join(f"{e.message}: {e.details}" for e in found)
    inside = set(node_ids)
    edges = {n: [src for src, _ in p.links.values() if src in inside] for n, p in planned.items()}
    cycles = list(graph.cycles(edges))
    if cycles:
        errors[cycles[0][0]] = f"Dependency cycle detected: {' -> '.join(cycles[0])}"
        return planned, list(node_ids), errors
    return planned, graph.topological_order(node_ids, edges), errors
