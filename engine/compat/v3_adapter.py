"""ComfyUI V3 node classes (``io.ComfyNode`` with ``define_schema`` / ``execute``) as NodeSpecs.

A V3 node is read from its schema: every ``io`` input becomes an InputSpec the validator checks (types,
ranges, choices, required or optional), hidden inputs map onto the engine's, outputs keep their names,
tooltips and list flags, and ``is_output_node``, ``is_input_list``, ``not_idempotent``, lazy inputs and the
optional hooks (``check_lazy_status``, ``fingerprint_inputs``, ``validate_inputs``, only when the class
overrides them, as ComfyUI checks) carry over. ``/object_info`` shows the node exactly as ComfyUI does for
V3 nodes (its schema's own rendering, more fields than a V1 node has).

Dynamic inputs arrive flat in a prompt (``mode`` and ``mode.width`` for a DynamicCombo, ``images.image0`` for
an Autogrow); each member is an optional input here, and :class:`V3Impl` nests them into the dicts
``execute`` receives, as ComfyUI does. ``comfy_entrypoint`` packs are read through their ``ComfyExtension``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from ..core.context import NodeContext, running
from ..core.paths import Folders
from ..core.results import ExecutionBlocker, NodeOutput, normalize_result, settle
from ..core.spec import HIDDEN_KINDS, WIDGET_TYPES, CachePolicy, InputSpec, NodeSpec, OutputSpec, SpecError
from .values import to_comfy, to_inkgraph

_INTERNAL = "inkgraph.engine.compat.comfy_api.internal"


def is_v3_class(obj: Any) -> bool:
    """Whether ``obj`` is a V3 node class (only possible once a pack imported ``comfy_api``)."""
    internal = sys.modules.get(_INTERNAL)
    return internal is not None and isinstance(obj, type) and issubclass(obj, internal._ComfyNodeInternal)


def run_coroutine(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a pack's coroutine to completion from synchronous code, even where an event loop is running
    (a server starting inside one): then on a private loop in a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="comfy-entrypoint")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


@dataclass
class _Layout:
    """How a V3 node's flat prompt inputs map onto ``execute``'s (nested) arguments."""

    inputs: list[InputSpec] = field(default_factory=list)
    paths: dict[str, list[str]] = field(default_factory=dict)  # flat name → nested path (dynamic members)
    empty_groups: list[list[str]] = field(default_factory=list)  # Autogrow roots: {} when no member is set

    def add(self, spec: InputSpec, path: list[str] | None) -> None:
        existing = next((i for i in self.inputs if i.name == spec.name), None)
        if existing is None:
            self.inputs.append(spec)
        else:  # two DynamicCombo options declare the same member: accept what either accepts
            index = self.inputs.index(existing)
            self.inputs[index] = _loosest(existing, spec)
        if path is not None:
            self.paths[spec.name] = path


def _loosest(a: InputSpec, b: InputSpec) -> InputSpec:
    def bound(x: Any, y: Any, pick: Callable[[Any, Any], Any]) -> Any:
        return None if x is None or y is None else pick(x, y)

    choices = None if a.choices is None or b.choices is None else tuple(dict.fromkeys(a.choices + b.choices))
    kind = a.type if a.type == b.type else "*"
    return a.model_copy(update={"type": kind, "min": bound(a.min, b.min, min), "max": bound(a.max, b.max, max),
                                "choices": choices, "optional": a.optional and b.optional})


def _socket_type(io: Any, i: Any) -> str:
    """The type the validator checks links and values against (a MatchType: any of its allowed types)."""
    if isinstance(i, (io.MatchType.Input, io.MatchType.Output)):
        allowed = [str(t.io_type) for t in i.template.allowed_types]
        return "*" if "*" in allowed else ",".join(allowed)
    if isinstance(i, io.MultiCombo.Input):
        return "*"  # a list of choices: checked by the node, as ComfyUI does
    kind = str(i.get_io_type())
    if isinstance(i, io.WidgetInput) and not set(kind.split(",")) & WIDGET_TYPES:
        return "*"  # a widget of its own kind (a colour, a bounding box): any value the frontend sends
    return kind


def _input_spec(io: Any, cls: type, i: Any, name: str, optional: bool) -> InputSpec:
    widget = i.input_override if isinstance(i, io.MultiType.Input) and i.input_override is not None else i
    fields: dict[str, Any] = {"name": name, "type": _socket_type(io, i), "optional": optional,
                              "tooltip": i.tooltip, "lazy": bool(i.lazy), "raw_link": bool(i.rawLink)}
    if isinstance(widget, io.WidgetInput):
        fields["default"] = widget.default
        fields["force_input"] = bool(widget.force_input)
        for key in ("min", "max", "step", "round"):
            value = getattr(widget, key, None)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                fields[key] = value
    if isinstance(i, io.Combo.Input) and not isinstance(i, io.MultiCombo.Input):
        if i.options is None:  # a remote combo: its options live elsewhere
            fields["type"] = "*"
        else:
            fields.update(type="COMBO", combo_style="COMBO", choices_provider=_choices(cls, name))
    return InputSpec(**fields)


def _choices(cls: type, name: str) -> Callable[[Folders | None], list[Any]]:
    """A combo's options as the schema gives them now (packs list files in ``define_schema``)."""

    def provider(folders: Folders | None) -> list[Any]:
        from .comfy_api.latest import io

        found = _find(io, cls.define_schema().inputs, name.split("."))  # type: ignore[attr-defined]
        return list(getattr(found, "options", None) or [])

    return provider


def _find(io: Any, inputs: list[Any], parts: list[str]) -> Any:
    for i in inputs:
        if i.id != parts[0]:
            continue
        if len(parts) == 1:
            return i
        members = _members(io, i)
        found = _find(io, members, parts[1:])
        if found is not None:
            return found
    return None


def _members(io: Any, i: Any) -> list[Any]:
    if isinstance(i, io.DynamicCombo.Input):
        return [member for option in i.options for member in option.inputs]
    if isinstance(i, io.Autogrow.Input):
        return list(i.template.members())
    if isinstance(i, io.DynamicSlot.Input):
        return list(i.inputs)
    return []


def _expand(io: Any, cls: type, inputs: list[Any], prefix: list[str], layout: _Layout, forced_optional: bool) -> None:
    """Add InputSpecs for ``inputs`` (members of dynamic inputs under their dotted names) to ``layout``."""
    for i in inputs:
        path = [*prefix, i.id]
        name = ".".join(path)
        optional = forced_optional or bool(i.optional)
        if isinstance(i, io.DynamicCombo.Input):
            keys = tuple(option.key for option in i.options)
            layout.add(InputSpec(name=name, type="COMBO", optional=optional, choices=keys, combo_style="COMBO",
                                 tooltip=i.tooltip), [*path, i.id])
            for option in i.options:
                _expand(io, cls, option.inputs, path, layout, True)
        elif isinstance(i, io.Autogrow.Input):
            template = i.template
            required = not (forced_optional or i.optional or template.input.optional)
            for index, member in enumerate(template.members()):
                spec = _input_spec(io, cls, member, f"{name}.{member.id}", not (required and index < template.min))
                layout.add(spec, [*path, member.id])
            layout.empty_groups.append(path)
        elif isinstance(i, io.DynamicSlot.Input):
            layout.add(_input_spec(io, cls, i.slot, name, True), [*path, i.id])
            _expand(io, cls, i.inputs, path, layout, True)
        else:
            layout.add(_input_spec(io, cls, i, name, optional), path if prefix else None)


def _parameters(fn: Any) -> tuple[set[str], bool]:
    params = inspect.signature(fn).parameters
    return set(params), any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _node_info(cls: Any) -> Callable[[Folders | None], dict[str, Any]]:
    def info(folders: Folders | None) -> dict[str, Any]:
        rendered: dict[str, Any] = json.loads(json.dumps(cls.GET_NODE_INFO_V1(), default=str))
        return rendered

    return info


def spec_from_v3(cls: Any, python_module: str = "custom_nodes", class_type: str | None = None,
                 display_name: str | None = None) -> NodeSpec:
    """The NodeSpec of one V3 node class; SpecError when its declaration cannot work."""
    from .comfy_api.internal import first_real_override
    from .comfy_api.latest import io

    cls.RELATIVE_PYTHON_MODULE = python_module
    try:
        schema = cls.GET_SCHEMA()
    except Exception as exc:
        raise SpecError(f"{getattr(cls, '__name__', cls)}: define_schema failed: {type(exc).__name__}: {exc}") from exc
    class_type = class_type or schema.node_id
    layout = _Layout()
    _expand(io, cls, schema.inputs, [], layout, False)
    hidden = {io.Hidden(h).name: io.Hidden(h).value for h in schema.hidden if io.Hidden(h).value in HIDDEN_KINDS}
    outputs = tuple(
        OutputSpec(type=_socket_type(io, o) if isinstance(o, io.MatchType.Output) else str(o.io_type),
                   name=o.display_name or str(o.io_type), is_list=bool(o.is_output_list), tooltip=o.tooltip or None)
        for o in schema.outputs)
    validator = first_real_override(cls, "validate_inputs")
    validated, validates_all = _parameters(validator) if validator is not None else (set(), False)
    names = {i.name for i in layout.inputs}
    return NodeSpec(
        class_type=class_type,
        display_name=schema.display_name or display_name or class_type,
        category=schema.category or "sd",
        description=schema.description or "",
        inputs=tuple(layout.inputs),
        hidden=hidden,
        outputs=outputs,
        output_node=bool(schema.is_output_node),
        input_is_list=bool(schema.is_input_list),
        cache_policy=CachePolicy.NORMAL,
        not_idempotent=bool(schema.not_idempotent),
        deprecated=bool(schema.is_deprecated),
        experimental=bool(schema.is_experimental),
        python_module=python_module,
        accepts_extra_inputs=bool(schema.accept_all_inputs),
        has_lazy_check=first_real_override(cls, "check_lazy_status") is not None,
        has_fingerprint=first_real_override(cls, "fingerprint_inputs") is not None,
        custom_validated=frozenset(validated & names),
        custom_validates_all=validates_all,
        has_custom_validation=validator is not None,
        wants_input_types="input_types" in validated,
        impl=V3Impl(cls, len(outputs), layout, hidden),
        info=_node_info(cls),
    )


def _ui_dict(ui: Any) -> dict[str, list[Any]] | None:
    if ui is None:
        return None
    data = ui if isinstance(ui, dict) else ui.as_dict()
    return {key: list(value) if isinstance(value, (tuple, list)) else [value] for key, value in data.items()}


class V3Impl:
    """Calls a V3 class as ComfyUI does: classmethods on a per-call clone that carries the hidden values."""

    wants_context = True

    def __init__(self, cls: Any, n_outputs: int, layout: _Layout, hidden: dict[str, str]) -> None:
        self.cls, self.n_outputs, self.layout, self.hidden = cls, n_outputs, layout, hidden

    def create_instance(self) -> Any:
        return self.cls  # V3 nodes keep no per-node state: their methods are classmethods

    def nest(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Flat prompt inputs → ``execute``'s arguments (dynamic members gathered into nested dicts)."""
        paths = self.layout.paths
        out = {k: v for k, v in inputs.items() if k not in paths}
        for flat, path in paths.items():
            if flat in inputs:
                target = out
                for part in path[:-1]:
                    target = target.setdefault(part, {})
                target[path[-1]] = inputs[flat]
        for group in self.layout.empty_groups:
            target = out
            for part in group[:-1]:
                target = target.setdefault(part, {})
            target.setdefault(group[-1], {})
        return out

    def _clone(self, inputs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        hidden = {kind: inputs.pop(name) for name, kind in self.hidden.items() if name in inputs}
        return self.cls.PREPARE_CLASS_CLONE({"hidden_inputs": hidden}), self.nest(inputs)

    def execute(self, instance: Any, ctx: NodeContext, inputs: dict[str, Any]) -> NodeOutput:
        clone, values = self._clone(dict(inputs))
        with running(ctx):  # MODEL/CLIP/VAE… reach the node as ComfyUI's objects, and come back as handles
            out = settle(getattr(clone, clone.FUNCTION)(**to_comfy(values)))
        result = to_inkgraph(out.result)
        if out.block_execution is not None:
            result = (ExecutionBlocker(out.block_execution),) * self.n_outputs
        elif result is None and out.expand is None:
            result = (None,) * self.n_outputs if self.n_outputs else None
        return normalize_result(NodeOutput(result=tuple(result) if result is not None else None,
                                           ui=_ui_dict(out.ui), expand=out.expand), self.n_outputs,
                                wrap_single=False)

    def check_lazy_status(self, instance: Any, ctx: NodeContext, inputs: dict[str, Any]) -> list[str] | None:
        clone, values = self._clone(dict(inputs))
        with running(ctx):
            needed = settle(clone.check_lazy_status(**to_comfy(values)))
        if needed is None:
            return []
        return [needed] if isinstance(needed, str) else [n for n in needed if isinstance(n, str)]

    def _hook_args(self, hook: Any, constants: dict[str, Any]) -> dict[str, Any]:
        """The arguments ComfyUI passes a hook: every input, those not constant (links) as None."""
        names, takes_all = _parameters(hook)
        everything = {i.name: None for i in self.layout.inputs} | constants
        values = self.nest(everything)
        return {k: v for k, v in values.items() if takes_all or k in names}

    def fingerprint(self, constants: dict[str, Any], folders: Folders | None) -> Any:
        hook = self.cls.fingerprint_inputs
        return settle(hook(**self._hook_args(hook, constants)))

    def validate(self, constants: dict[str, Any], input_types: dict[str, Any] | None,
                 folders: Folders | None) -> bool | str:
        hook = self.cls.validate_inputs
        args = self._hook_args(hook, constants)
        if "input_types" in _parameters(hook)[0]:
            args["input_types"] = input_types or {}
        result = settle(hook(**args))
        return result if isinstance(result, str) else bool(result)


def specs_from_entrypoint(entrypoint: Any, python_module: str, api_nodes: bool = True
                          ) -> tuple[list[NodeSpec], list[str]]:
    """Specs of a V3 pack: ``comfy_entrypoint()`` (sync or async) gives a ``ComfyExtension``, whose
    ``on_load()`` runs before ``get_node_list()``. Node classes that cannot work are skipped with a reason."""
    from .comfy_api.latest import ComfyExtension

    if not callable(entrypoint):
        raise TypeError("comfy_entrypoint is not callable")

    async def load() -> list[Any]:
        extension = entrypoint()
        if inspect.isawaitable(extension):
            extension = await extension
        if not isinstance(extension, ComfyExtension):
            raise TypeError(f"comfy_entrypoint returned {type(extension).__name__}, not a ComfyExtension")
        await extension.on_load()
        nodes = await extension.get_node_list()
        if not isinstance(nodes, list):
            raise TypeError("the ComfyExtension's get_node_list() did not return a list")
        return nodes

    specs, skipped = [], []
    for cls in run_coroutine(load()):
        try:
            if not is_v3_class(cls):
                raise SpecError(f"{getattr(cls, '__name__', cls)!r} is not an io.ComfyNode class")
            if not api_nodes and cls.API_NODE is True:
                skipped.append(f"{cls.GET_SCHEMA().node_id}: an API node (--disable-api-nodes)")
                continue
            specs.append(spec_from_v3(cls, python_module))
        except SpecError as exc:
            skipped.append(str(exc))
        except Exception as exc:
            skipped.append(f"{getattr(cls, '__name__', cls)}: {type(exc).__name__}: {exc}")
    return specs, skipped
