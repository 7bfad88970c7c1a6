"""UI workflow → API prompt, as ComfyUI's frontend does it when you press Queue (its graphToPrompt), on the
server so saved workflows run headless.

- ``widgets_values`` fill the widget inputs in ``INPUT_TYPES`` order (required, then optional), skipping the
  extra value the frontend stores after a ``control_after_generate`` input (fixed / increment / decrement /
  randomize) and after an ``image_upload`` combo ("image"); an object ``{name: value}`` maps by name.
- Links become ``[origin id, slot]``; a link wins over the widget value of the same input.
- Upstream of a link: Reroutes are followed, a PrimitiveNode gives its value, a bypassed node (mode 4) passes
  the input of the same type through (the same slot index preferred), a muted node (mode 2) gives nothing,
  subgraph instances are entered and left through their input/output nodes, so nodes of subgraphs get ids
  ``outer:inner``. Notes, groups and virtual nodes produce nothing.
- Unknown node types are kept as they are, so validation reports each one by name (``missing_node_type``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..dynamic import declares, option_inputs
from ..spec import DYNAMIC_COMBO, NodeSpec, types_compatible
from .ui_models import (
    MODE_BYPASS,
    MODE_NEVER,
    SUBGRAPH_INPUT_NODE,
    SUBGRAPH_OUTPUT_NODE,
    Link,
    SubgraphDefinition,
    UINode,
    UIWorkflow,
    parse_links,
)

CONTROL_VALUES = {"fixed", "increment", "decrement", "randomize"}
VIRTUAL = {"Reroute", "PrimitiveNode", "Note", "MarkdownNote"}  # canvas-only nodes: never sent
SEED_NAMES = {"seed", "noise_seed"}  # older frontends added the control widget after these by name

SpecOf = Callable[[str], NodeSpec | None]


@dataclass
class _Value:
    value: Any


@dataclass
class _Output:
    node_id: str
    slot: int


Source = _Value | _Output | None


@dataclass
class _Scope:
    """One graph level: the top workflow, or the inside of one subgraph instance."""

    prefix: str
    nodes: dict[str, UINode]
    links: dict[int, Link]
    parent: _Scope | None = None
    instance: UINode | None = None
    incoming: dict[tuple[str, int], Link] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.incoming = {(link.target_id, link.target_slot): link for link in self.links.values()}


def widget_inputs(spec: NodeSpec | None = None, inputs: Any = None) -> list[Any]:
    """The inputs that have a widget, in the order the frontend creates them (required, then optional)."""
    pool = spec.inputs if inputs is None and spec is not None else inputs
    widgets = [i for i in pool if i.is_widget]
    return [i for i in widgets if not i.optional] + [i for i in widgets if i.optional]


def has_control(inp: Any) -> bool:
    return bool(inp.control_after_generate) or inp.name in SEED_NAMES


def _default(inp: Any) -> Any:
    """What a widget holds when ``widgets_values`` is too short for it (an older node version saved it):
    its default, as the frontend's freshly made widget would."""
    if inp.type == DYNAMIC_COMBO:
        options = inp.extra.get("options") or [{}]
        return options[0].get("key")
    if inp.default is None and inp.is_combo and inp.choices:
        return inp.choices[0]  # a fresh combo widget shows its first choice
    if inp.default is None and inp.is_frontend_widget:
        return inp.extra.get("default")
    return inp.widget_default()


def widget_values(spec: NodeSpec, values: list[Any] | dict[str, Any] | None) -> dict[str, Any]:
    """Widget input name → value from a node's ``widgets_values``.

    A DynamicCombo's chosen option brings its widgets right after it (``resize_type``, ``resize_type.width``
    …), as the frontend lays them out. A widget the node has no value for (no ``widgets_values`` at all, as
    in hand-written and older files, a shorter list, or a missing name) keeps the value the frontend gives a
    new widget: ``SaveImage`` without values still sends ``filename_prefix: "ComfyUI"``.
    """
    if isinstance(values, dict):
        given = {k: v for k, v in values.items() if declares(spec, k)}
        defaults = {inp.name: _default(inp) for inp in widget_inputs(spec) if inp.name not in given}
        return {**given, **{k: v for k, v in defaults.items() if v is not None}}
    seq = values or []
    out: dict[str, Any] = {}
    position = 0

    def walk(inputs: Any, prefix: str) -> None:
        nonlocal position
        for inp in widget_inputs(inputs=inputs):
            name = f"{prefix}{inp.name}"
            if position < len(seq):
                value = seq[position]
                position += 1
                if position < len(seq):
                    following = seq[position]
                    if has_control(inp) and (following in CONTROL_VALUES or isinstance(following, bool)):
                        position += 1  # the frontend's control_after_generate widget: never sent to the server
                    elif (inp.image_upload or inp.extra.get("video_upload")) and following == "image":
                        position += 1  # LoadImage's upload button
            else:
                value = _default(inp)
                if value is None and not inp.is_frontend_widget:  # the canvas's own widgets send null
                    continue
            out[name] = value
            if inp.type == DYNAMIC_COMBO:
                chosen = option_inputs(inp, value)
                if chosen:
                    walk(chosen, f"{name}.")

    walk(spec.inputs, "")
    return out


class Converter:
    def __init__(self, workflow: UIWorkflow, spec_of: SpecOf) -> None:
        self.spec_of = spec_of
        self.subgraphs: dict[str, SubgraphDefinition] = {
            s.id: s for s in (workflow.definitions.subgraphs if workflow.definitions else [])}
        self.top = _Scope("", {str(n.id): n for n in workflow.nodes}, parse_links(workflow.links))
        self.prompt: dict[str, Any] = {}
        self.warnings: list[str] = []

    # -- following links upstream ----------------------------------------------------------------
    def _child(self, scope: _Scope, node: UINode) -> _Scope:
        definition = self.subgraphs[node.type]
        return _Scope(f"{scope.prefix}{node.id}:", {str(n.id): n for n in definition.nodes},
                      parse_links(definition.links), scope, node)

    def _from_link(self, scope: _Scope, link: Link | None, depth: int = 0) -> Source:
        if link is None:
            return None
        if depth > 256:
            self.warnings.append(f"link {link.id}: a loop of reroutes or bypassed nodes; dropped")
            return None
        return self._origin(scope, link.origin_id, link.origin_slot, link.type, depth + 1)

    def _origin(self, scope: _Scope, node_id: str, slot: int, kind: Any, depth: int) -> Source:
        if node_id == str(SUBGRAPH_INPUT_NODE) and scope.parent is not None and scope.instance is not None:
            instance_id = str(scope.instance.id)
            definition = self.subgraphs.get(scope.instance.type)
            outer_slot = _instance_slot(definition, scope.instance, slot)
            outer = scope.parent.incoming.get((instance_id, outer_slot)) if outer_slot is not None else None
            if outer is not None:
                return self._from_link(scope.parent, outer, depth)
            promoted = _definition_widget_value(definition, scope.instance, slot)
            if promoted is not None:
                return promoted
            return self._promoted_value(scope.instance, outer_slot if outer_slot is not None else slot)
        node = scope.nodes.get(node_id)
        if node is None:
            return None
        if node.type in self.subgraphs:
            inner = self._child(scope, node)
            return self._from_link(inner, inner.incoming.get((str(SUBGRAPH_OUTPUT_NODE), slot)), depth)
        if node.mode == MODE_NEVER or node.type in ("Note", "MarkdownNote"):
            return None
        if node.type == "Reroute":
            return self._from_link(scope, scope.incoming.get((node_id, 0)), depth)
        if node.type == "PrimitiveNode":
            values = node.widgets_values
            if isinstance(values, list) and values:
                return _Value(values[0])
            return None
        if node.mode == MODE_BYPASS:
            linked = [i for i, inp in enumerate(node.inputs) if inp.link is not None
                      and types_compatible(str(inp.type), str(kind))]
            if not linked:
                return None
            pick = slot if slot in linked else linked[0]
            return self._from_link(scope, scope.incoming.get((node_id, pick)), depth)
        return _Output(f"{scope.prefix}{node_id}", slot)

    @staticmethod
    def _promoted_value(instance: UINode, slot: int) -> Source:
        """An unconnected subgraph input shown as a widget on the instance: its value."""
        values = instance.widgets_values
        widget_slots = [i for i, inp in enumerate(instance.inputs) if inp.widget is not None]
        if isinstance(values, list) and slot in widget_slots and widget_slots.index(slot) < len(values):
            return _Value(values[widget_slots.index(slot)])
        if isinstance(values, dict) and slot < len(instance.inputs):
            name = instance.inputs[slot].name
            if name in values:
                return _Value(values[name])
        return None

    # -- emitting nodes --------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        self._emit(self.top)
        for node in self.prompt.values():  # step 4 of graphToPrompt: links to nodes that are not sent
            for name, value in list(node["inputs"].items()):
                if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) \
                        and value[0] not in self.prompt:
                    del node["inputs"][name]
        return self.prompt

    def _emit(self, scope: _Scope) -> None:
        for node_id, node in scope.nodes.items():
            if node.type in self.subgraphs:
                if node.mode not in (MODE_NEVER, MODE_BYPASS):
                    self._emit(self._child(scope, node))
                continue
            if node.type in VIRTUAL or node.mode in (MODE_NEVER, MODE_BYPASS):
                continue
            self.prompt[f"{scope.prefix}{node_id}"] = self._node(scope, node_id, node)

    def _node(self, scope: _Scope, node_id: str, node: UINode) -> dict[str, Any]:
        spec = self.spec_of(node.type)
        inputs: dict[str, Any] = {}
        if spec is not None:
            for name, value in widget_values(spec, node.widgets_values).items():
                inputs[name] = {"__value__": value} if isinstance(value, list) else value
        for slot, inp in enumerate(node.inputs):
            name = (inp.widget or {}).get("name") or inp.name
            source = self._from_link(scope, scope.incoming.get((node_id, slot))) if inp.link is not None else None
            if isinstance(source, _Output):
                inputs[name] = [source.node_id, source.slot]
            elif isinstance(source, _Value):
                inputs[name] = {"__value__": source.value} if isinstance(source.value, list) else source.value
        title = node.title or (spec.display_name if spec is not None else node.type)
        return {"inputs": inputs, "class_type": node.type, "_meta": {"title": title}}


def ui_to_api(workflow: dict[str, Any] | UIWorkflow, spec_of: SpecOf) -> tuple[dict[str, Any], list[str]]:
    """(API prompt, warnings) for a UI-format workflow."""
    model = workflow if isinstance(workflow, UIWorkflow) else UIWorkflow.model_validate(workflow)
    converter = Converter(model, spec_of)
    return converter.run(), converter.warnings


WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})


def _instance_slot(definition: SubgraphDefinition | None, instance: UINode, slot: int) -> int | None:
    """The instance's input for the subgraph's input ``slot``: the one of the same name (newer frontends list
    only some of a subgraph's inputs on its instance, so positions differ); by position otherwise."""
    inputs = definition.inputs if definition is not None else []
    if slot < len(inputs) and inputs[slot].get("name"):
        name = inputs[slot]["name"]
        for index, inp in enumerate(instance.inputs):
            if inp.name == name:
                return index
        if len(instance.inputs) < len(inputs):
            return None  # not on the instance: a promoted widget
    return slot


def _definition_widget_value(definition: SubgraphDefinition | None, instance: UINode, slot: int) -> Source:
    """An unconnected subgraph input's value when the instance keeps one widget value per widget-typed input
    of the subgraph, in the subgraph's order (how newer frontends save promoted widgets)."""
    inputs = definition.inputs if definition is not None else []
    values = instance.widgets_values
    if not isinstance(values, list) or slot >= len(inputs):
        return None
    widget_slots = [i for i, inp in enumerate(inputs) if str(inp.get("type", "")).upper() in WIDGET_TYPES]
    if len(widget_slots) != len(values) or slot not in widget_slots:
        return None
    return _Value(values[widget_slots.index(slot)])
