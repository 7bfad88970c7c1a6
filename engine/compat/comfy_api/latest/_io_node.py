"""ComfyUI's V3 node class: ``Schema`` (the declaration), ``ComfyNode`` (classmethods ``define_schema`` and
``execute`` plus the optional hooks), ``NodeOutput``, hidden inputs, and the V1 view of a V3 class
(``INPUT_TYPES``, ``RETURN_TYPES`` … and ``GET_NODE_INFO_V1``, which is its ``/object_info`` entry)."""

from __future__ import annotations

import inspect
from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypedDict

from ....core.results import ExecutionBlocker
from ..internal import (
    _ComfyNodeInternal,
    _NodeOutputInternal,
    classproperty,
    first_real_override,
    is_class,
    shallow_clone_class,
)
from ._io_base import Input, Output, create_input_dict_v1
from ._io_dynamic import DynamicInput, MatchType


class Hidden(StrEnum):
    """Values the engine gives a node besides its inputs (``Schema(hidden=[Hidden.unique_id])``)."""

    unique_id = "UNIQUE_ID"
    prompt = "PROMPT"
    extra_pnginfo = "EXTRA_PNGINFO"
    dynprompt = "DYNPROMPT"
    auth_token_comfy_org = "AUTH_TOKEN_COMFY_ORG"
    api_key_comfy_org = "API_KEY_COMFY_ORG"
    comfy_usage_source = "COMFY_USAGE_SOURCE"
    execution_list = "EXECUTION_LIST"


class HiddenHolder:
    """``cls.hidden`` while a node runs: the hidden values it asked for; anything else reads as None."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        values = values or {}
        for member in Hidden:
            setattr(self, member.name, values.get(member.value))

    def __getattr__(self, key: str) -> Any:
        return None

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> HiddenHolder:
        return cls({str(k): v for k, v in (d or {}).items()})

    @classmethod
    def from_v3_data(cls, v3_data: dict[str, Any] | None) -> HiddenHolder:
        return cls.from_dict(v3_data.get("hidden_inputs") if v3_data else None)


class V3Data(TypedDict, total=False):
    hidden_inputs: dict[str, Any]
    dynamic_paths: dict[str, Any]


@dataclass
class NodeInfoV1:
    """A V3 node's ``/object_info`` entry, field for field and in ComfyUI's order."""

    input: dict[str, Any] | None = None
    input_order: dict[str, list[str]] | None = None
    is_input_list: bool | None = None
    output: list[Any] | None = None
    output_is_list: list[bool] | None = None
    output_name: list[str] | None = None
    output_tooltips: list[str | None] | None = None
    output_matchtypes: list[str | None] | None = None
    name: str | None = None
    display_name: str | None = None
    description: str | None = None
    python_module: Any = None
    category: str | None = None
    output_node: bool | None = None
    deprecated: bool | None = None
    experimental: bool | None = None
    dev_only: bool | None = None
    api_node: bool | None = None
    price_badge: dict[str, Any] | None = None
    search_aliases: list[str] | None = None
    essentials_category: str | None = None
    has_intermediate_output: bool | None = None


@dataclass
class PriceBadgeDepends:
    widgets: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    input_groups: list[str] = field(default_factory=list)

    def as_dict(self, schema_inputs: list[Input]) -> dict[str, Any]:
        types = {i.id: i.get_io_type() for i in schema_inputs}
        for name in self.widgets:
            if name not in types:
                raise ValueError(f"PriceBadge depends_on.widgets references unknown widget '{name}'.")
        return {"widgets": [{"name": w, "type": types[w]} for w in self.widgets], "inputs": self.inputs,
                "input_groups": self.input_groups}


@dataclass
class PriceBadge:
    """A price the frontend shows on an API node (a JSONata expression over its widgets)."""

    expr: str
    depends_on: PriceBadgeDepends = field(default_factory=PriceBadgeDepends)
    engine: str = "jsonata"

    def validate(self) -> None:
        if self.engine != "jsonata" or not self.expr.strip():
            raise ValueError("PriceBadge needs a non-empty jsonata expression")

    def as_dict(self, schema_inputs: list[Input]) -> dict[str, Any]:
        return {"engine": self.engine, "depends_on": self.depends_on.as_dict(schema_inputs), "expr": self.expr}


@dataclass
class Schema:
    """A V3 node's declaration."""

    node_id: str
    display_name: str | None = None
    category: str = "sd"
    inputs: list[Input] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    hidden: list[Hidden] = field(default_factory=list)
    description: str = ""
    search_aliases: list[str] = field(default_factory=list)
    is_input_list: bool = False
    is_output_node: bool = False
    is_deprecated: bool = False
    is_experimental: bool = False
    is_dev_only: bool = False
    is_api_node: bool = False
    price_badge: PriceBadge | None = None
    not_idempotent: bool = False
    enable_expand: bool = False
    accept_all_inputs: bool = False
    essentials_category: str | None = None
    has_intermediate_output: bool = False
    loop_boundary: Literal["start", "end"] | None = None

    def validate(self) -> None:
        """Input ids, and output ids, must each be unique (members of dynamic inputs included)."""
        input_ids = [i.id for top in self.inputs if not isinstance(top, DynamicInput) for i in top.get_all()]
        output_ids = [o.id for o in self.outputs]
        issues = [f"{what} ids must be unique, but {[k for k, n in Counter(ids).items() if n > 1]} are not."
                  for what, ids in (("Input", input_ids), ("Output", output_ids)) if len(set(ids)) != len(ids)]
        if issues:
            raise ValueError("\n".join(issues))
        for i in self.inputs:
            i.validate()
        for o in self.outputs:
            o.validate()
        if self.price_badge is not None:
            self.price_badge.validate()

    def finalize(self) -> None:
        """Add the hidden inputs output and API nodes need; give outputs without ids their default ids."""
        self.inputs, self.outputs, self.hidden = self.inputs or [], self.outputs or [], self.hidden or []
        wanted = []
        if self.is_api_node:
            wanted += [Hidden.auth_token_comfy_org, Hidden.api_key_comfy_org, Hidden.comfy_usage_source]
        if self.is_output_node:
            wanted += [Hidden.prompt, Hidden.extra_pnginfo]
        for h in wanted:
            if h not in self.hidden:
                self.hidden.append(h)
        for index, output in enumerate(self.outputs):
            if output.id is None:
                output.id = f"_{index}_{output.io_type}_"

    def get_v1_info(self, cls: Any) -> NodeInfoV1:
        inputs = create_input_dict_v1(self.inputs)
        for h in self.hidden:
            inputs.setdefault("hidden", {})[Hidden(h).name] = (Hidden(h).value,)
        matchtypes = [o.template.template_id if isinstance(o, MatchType.Output) else None for o in self.outputs]
        return NodeInfoV1(
            input=inputs, input_order={key: list(value) for key, value in inputs.items()},
            is_input_list=self.is_input_list, output=[o.io_type for o in self.outputs],
            output_is_list=[o.is_output_list for o in self.outputs],
            output_name=[o.display_name if o.display_name else o.io_type for o in self.outputs],
            output_tooltips=[o.tooltip if o.tooltip else None for o in self.outputs],
            output_matchtypes=matchtypes if any(m is not None for m in matchtypes) else None,
            name=self.node_id, display_name=self.display_name, category=self.category,
            description=self.description, output_node=self.is_output_node,
            has_intermediate_output=self.has_intermediate_output, deprecated=self.is_deprecated,
            experimental=self.is_experimental, dev_only=self.is_dev_only, api_node=self.is_api_node,
            python_module=getattr(cls, "RELATIVE_PYTHON_MODULE", "nodes"),
            price_badge=self.price_badge.as_dict(self.inputs) if self.price_badge is not None else None,
            search_aliases=self.search_aliases or None, essentials_category=self.essentials_category)


class _UIOutput:
    """What ``NodeOutput(ui=…)`` may hold besides a dict: something that renders as the ``ui`` dict."""

    def as_dict(self) -> dict[str, Any]:
        raise NotImplementedError


class NodeOutput(_NodeOutputInternal):
    """A V3 node's return: output values, optionally ``ui`` (shown on the node, kept in the history),
    ``expand`` (a subgraph to run in its place) or ``block_execution`` (a message blocking consumers)."""

    def __init__(self, *args: Any, ui: _UIOutput | dict[str, Any] | None = None, expand: dict[str, Any] | None = None,
                 block_execution: str | None = None) -> None:
        self.args, self.ui, self.expand, self.block_execution = args, ui, expand, block_execution

    @property
    def result(self) -> tuple[Any, ...] | None:
        return self.args if self.args else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeOutput:
        result = data.get("result", ())
        if isinstance(result, ExecutionBlocker):
            return cls(block_execution=result.message)
        return cls(*result, ui=data.get("ui"), expand=data.get("expand"))

    def __getitem__(self, index: int) -> Any:
        return self.args[index]


def _normalized(cls: Any, value: Any) -> NodeOutput:
    """A node's return in NodeOutput form (None, a tuple, a V1-style dict and a blocker are accepted)."""
    if value is None:
        value = NodeOutput()
    elif isinstance(value, tuple):
        value = NodeOutput(*value)
    elif isinstance(value, dict):
        value = NodeOutput.from_dict(value)
    elif isinstance(value, ExecutionBlocker):
        value = NodeOutput(block_execution=value.message)
    elif not isinstance(value, NodeOutput):
        raise TypeError(f"Invalid return type from node: {type(value)}")
    if value.expand is not None and not cls.SCHEMA.enable_expand:
        raise ValueError(f"Node {cls.__name__} is not expandable, but expand included in NodeOutput; developer "
                         "should set enable_expand=True on node's Schema to allow this.")
    out: NodeOutput = value
    return out


def _from_schema(attribute: str, read: Any) -> classproperty:
    """A V1 attribute (``CATEGORY``, ``RETURN_TYPES`` …) read from the class's schema, computed once."""

    def getter(cls: Any) -> Any:
        cached = cls.__dict__.get(f"_v1_{attribute}")
        if cached is None:
            cached = read(cls.GET_SCHEMA())
            setattr(cls, f"_v1_{attribute}", cached)
        return cached

    return classproperty(getter)


class _ComfyNodeBaseInternal(_ComfyNodeInternal):
    """The machinery under :class:`ComfyNode` (ComfyUI's name, which packs sometimes import)."""

    RELATIVE_PYTHON_MODULE: str | None = None
    SCHEMA: Schema | None = None
    hidden: HiddenHolder | None = None

    @classmethod
    def define_schema(cls) -> Schema:
        raise NotImplementedError

    @classmethod
    def execute(cls, **kwargs: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def validate_inputs(cls, **kwargs: Any) -> bool | str:
        raise NotImplementedError

    @classmethod
    def fingerprint_inputs(cls, **kwargs: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def check_lazy_status(cls, **kwargs: Any) -> list[str]:
        return [name for name, value in kwargs.items() if value is None]

    def __init__(self) -> None:
        type(self).VALIDATE_CLASS()

    @classmethod
    def GET_BASE_CLASS(cls) -> type:
        return _ComfyNodeBaseInternal

    @classmethod
    def VALIDATE_CLASS(cls) -> None:
        for hook in ("define_schema", "execute"):
            if first_real_override(cls, hook) is None:
                raise TypeError(f"No {hook} function was defined for node class {cls.__name__}.")

    @classproperty
    def FUNCTION(cls) -> str:  # noqa: N805
        return "EXECUTE_NORMALIZED_ASYNC" if inspect.iscoroutinefunction(cls.execute) else "EXECUTE_NORMALIZED"

    @classmethod
    def EXECUTE_NORMALIZED(cls, *args: Any, **kwargs: Any) -> NodeOutput:
        return _normalized(cls, cls.execute(*args, **kwargs))

    @classmethod
    async def EXECUTE_NORMALIZED_ASYNC(cls, *args: Any, **kwargs: Any) -> NodeOutput:
        return _normalized(cls, await cls.execute(*args, **kwargs))

    @classmethod
    def PREPARE_CLASS_CLONE(cls, v3_data: Any) -> Any:
        """A throw-away subclass carrying the hidden values of one call (so calls never share state)."""
        base = cls if is_class(cls) else type(cls)
        clone = shallow_clone_class(base)
        clone.hidden = HiddenHolder.from_v3_data(v3_data)  # type: ignore[attr-defined]
        return clone

    @classmethod
    def GET_NODE_INFO_V1(cls) -> dict[str, Any]:
        return asdict(cls.GET_SCHEMA().get_v1_info(cls))

    @classmethod
    def INPUT_TYPES(cls, include_hidden: bool = True, return_schema: bool = False) -> Any:
        schema = cls.FINALIZE_SCHEMA()
        inputs = schema.get_v1_info(cls).input or {}
        if not include_hidden:
            inputs.pop("hidden", None)
        return (inputs, schema) if return_schema else inputs

    @classmethod
    def FINALIZE_SCHEMA(cls) -> Schema:
        schema = cls.define_schema()
        schema.finalize()
        return schema

    @classmethod
    def GET_SCHEMA(cls) -> Schema:
        """Check the class, build, finalise and validate its schema, and keep it as ``SCHEMA``."""
        cls.VALIDATE_CLASS()
        schema = cls.FINALIZE_SCHEMA()
        schema.validate()
        cls.SCHEMA = schema
        return schema

    DESCRIPTION = _from_schema("DESCRIPTION", lambda s: s.description)
    CATEGORY = _from_schema("CATEGORY", lambda s: s.category)
    EXPERIMENTAL = _from_schema("EXPERIMENTAL", lambda s: s.is_experimental)
    DEPRECATED = _from_schema("DEPRECATED", lambda s: s.is_deprecated)
    DEV_ONLY = _from_schema("DEV_ONLY", lambda s: s.is_dev_only)
    API_NODE = _from_schema("API_NODE", lambda s: s.is_api_node)
    OUTPUT_NODE = _from_schema("OUTPUT_NODE", lambda s: s.is_output_node)
    HAS_INTERMEDIATE_OUTPUT = _from_schema("HAS_INTERMEDIATE_OUTPUT", lambda s: s.has_intermediate_output)
    INPUT_IS_LIST = _from_schema("INPUT_IS_LIST", lambda s: s.is_input_list)
    NOT_IDEMPOTENT = _from_schema("NOT_IDEMPOTENT", lambda s: s.not_idempotent)
    ACCEPT_ALL_INPUTS = _from_schema("ACCEPT_ALL_INPUTS", lambda s: s.accept_all_inputs)
    RETURN_TYPES = _from_schema("RETURN_TYPES", lambda s: [o.io_type for o in s.outputs])
    RETURN_NAMES = _from_schema("RETURN_NAMES", lambda s: [o.display_name or o.io_type for o in s.outputs])
    OUTPUT_IS_LIST = _from_schema("OUTPUT_IS_LIST", lambda s: [o.is_output_list for o in s.outputs])
    OUTPUT_TOOLTIPS = _from_schema("OUTPUT_TOOLTIPS", lambda s: [o.tooltip or None for o in s.outputs])


class ComfyNode(_ComfyNodeBaseInternal):
    """The base class of V3 nodes: override ``define_schema`` and ``execute`` (both classmethods)."""

    @classmethod
    def GET_BASE_CLASS(cls) -> type:
        return ComfyNode


class NodeReplace:
    """A replacement the frontend may offer for an old node (inputs and outputs mapped)."""

    def __init__(self, new_node_id: str, old_node_id: str, old_widget_ids: list[str] | None = None,
                 input_mapping: list[dict[str, Any]] | None = None,
                 output_mapping: list[dict[str, Any]] | None = None) -> None:
        self.new_node_id, self.old_node_id, self.old_widget_ids = new_node_id, old_node_id, old_widget_ids
        self.input_mapping, self.output_mapping = input_mapping, output_mapping

    def as_dict(self) -> dict[str, Any]:
        return {"new_node_id": self.new_node_id, "old_node_id": self.old_node_id,
                "old_widget_ids": self.old_widget_ids,
                "input_mapping": list(self.input_mapping) if self.input_mapping else None,
                "output_mapping": list(self.output_mapping) if self.output_mapping else None}
