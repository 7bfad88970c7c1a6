"""The native node-authoring API: a node is one decorated, fully typed function or class.

::

    from typing import Annotated, Literal
    from inkgraph.engine.core.api import Image, Int, node

    @node(category="image", display_name="Upscale Image")
    def ImageScale(
        image: Image,
        upscale_method: Literal["nearest-exact", "bilinear"] = "nearest-exact",
        width: Annotated[int, Int(min=0, max=16384, step=1)] = 512,
    ) -> Image:
        \"\"\"Resizes an image.\"\"\"   # becomes the node's description
        ...

The signature *is* the declaration: parameter names are input names; ``int``/``float``/``str``/``bool``
become widgets, ``Literal[...]`` a combo, socket aliases such as :data:`Image` become sockets; the
parameter default is the widget default; ``Annotated`` markers carry widget options. The return
annotation gives the outputs. Everything is checked when the decorator runs, so a broken declaration
fails at import with a message, never inside a user's graph.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

from .context import NodeContext
from .dynamic import inputs_config, nest
from .paths import Folders
from .results import ExecutionBlocker, NodeOutput, normalize_result, settle
from .spec import (
    AUTOGROW,
    DYNAMIC_COMBO,
    MATCHTYPE,
    Allocation,
    CachePolicy,
    InputSpec,
    NodeSpec,
    OutputSpec,
    SpecError,
    check_spec,
)

__all__ = [
    "ANY", "Allocation", "Autogrow", "Boolean", "CachePolicy", "Clip", "Combo", "Conditioning", "Context",
    "DynamicCombo", "ExecutionBlocker", "Float", "Hidden", "Image", "Int", "Latent", "Mask", "MatchType", "Model",
    "NodeOutput", "MATCHTYPE_TYPE", "Output", "Socket", "String", "UpscaleModel", "Vae", "input_spec", "node",
    "spec_of",
]

Context = NodeContext
ANY = "*"
MAX_RESOLUTION = 16384  # ComfyUI's largest width/height (its nodes.MAX_RESOLUTION)
F = TypeVar("F")

# ---------------------------------------------------------------------------------------------------
# Markers: carried in Annotated[...] to give a parameter or a return value its socket options.


@dataclass(frozen=True)
class _Marker:
    tooltip: str | None = None
    optional: bool = False
    lazy: bool = False
    force_input: bool = False
    raw_link: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    type_name: typing.ClassVar[str] = ""

    def widget_fields(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Socket(_Marker):
    """A link-only input of any type string (``Socket("IMAGE")``, ``Socket("MY_TYPE")``, ``Socket("*")``)."""

    type: str = "*"


@dataclass(frozen=True)
class Int(_Marker):
    default: int | None = None
    min: int | None = None
    max: int | None = None
    step: int | None = None
    display: str | None = None  # "number", "slider", "color"
    control_after_generate: bool | None = None
    type_name: typing.ClassVar[str] = "INT"

    def widget_fields(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max, "step": self.step, "display": self.display,
                "control_after_generate": self.control_after_generate}


@dataclass(frozen=True)
class Float(_Marker):
    default: float | None = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    round: float | bool | None = None
    display: str | None = None  # "number", "slider", "color"
    type_name: typing.ClassVar[str] = "FLOAT"

    def widget_fields(self) -> dict[str, Any]:
        return {"min": self.min, "max": self.max, "step": self.step, "round": self.round,
                "display": self.display}


@dataclass(frozen=True)
class String(_Marker):
    default: str | None = None
    multiline: bool | None = None
    placeholder: str | None = None
    dynamic_prompts: bool | None = None
    type_name: typing.ClassVar[str] = "STRING"

    def widget_fields(self) -> dict[str, Any]:
        return {"multiline": self.multiline, "placeholder": self.placeholder,
                "dynamic_prompts": self.dynamic_prompts}


@dataclass(frozen=True)
class Boolean(_Marker):
    default: bool | None = None
    label_on: str | None = None
    label_off: str | None = None
    type_name: typing.ClassVar[str] = "BOOLEAN"

    def widget_fields(self) -> dict[str, Any]:
        return {"label_on": self.label_on, "label_off": self.label_off}


@dataclass(frozen=True)
class Combo(_Marker):
    """A choice among ``options``: a fixed sequence, or a function of the folders (file listings)."""

    options: Sequence[Any] | Callable[[Folders], Sequence[Any]] = ()
    default: Any = None
    image_upload: bool | None = None
    control_after_generate: bool | None = None
    type_name: typing.ClassVar[str] = "COMBO"

    def widget_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"image_upload": self.image_upload,
                                  "control_after_generate": self.control_after_generate}
        if callable(self.options):
            fields["choices_provider"] = self.options
        else:
            fields["choices"] = tuple(self.options)
        return fields


@dataclass(frozen=True)
class Hidden:
    """A value the engine fills in: ``"PROMPT"``, ``"EXTRA_PNGINFO"``, ``"UNIQUE_ID"`` …"""

    kind: str


@dataclass(frozen=True)
class Output:
    """Names an output socket in a return annotation: ``Annotated[Image, Output("upscaled")]``."""

    name: str | None = None
    tooltip: str | None = None
    is_list: bool = False
    type: str | None = None
    matchtype: str | None = None  # a MatchType output: the template id whose input type it passes on


# Socket aliases for ComfyUI's standard types. Values follow ComfyUI's conventions (IMAGE is a float32
# tensor [B,H,W,C] in 0..1), typed Any so that the engine core never imports torch.
Image = Annotated[Any, Socket(type="IMAGE")]
Mask = Annotated[Any, Socket(type="MASK")]
Latent = Annotated[dict[str, Any], Socket(type="LATENT")]
Conditioning = Annotated[list[Any], Socket(type="CONDITIONING")]
Model = Annotated[Any, Socket(type="MODEL")]
Clip = Annotated[Any, Socket(type="CLIP")]
Vae = Annotated[Any, Socket(type="VAE")]
UpscaleModel = Annotated[Any, Socket(type="UPSCALE_MODEL")]

_PLAIN_WIDGETS: dict[Any, type[_Marker]] = {int: Int, float: Float, str: String, bool: Boolean}
_EMPTY = inspect.Parameter.empty


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """``X | None`` → (X, True)."""
    if get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _split_annotated(tp: Any) -> tuple[Any, list[Any]]:
    if get_origin(tp) is Annotated:
        base, *meta = get_args(tp)
        inner_base, inner_meta = _split_annotated(base)
        return inner_base, inner_meta + list(meta)
    return tp, []


def _input_from_parameter(where: str, param: inspect.Parameter, tp: Any) -> InputSpec | str:
    """An InputSpec for a parameter, or the hidden kind (str) for a Hidden parameter."""
    tp, nullable = _unwrap_optional(tp)
    base, meta = _split_annotated(tp)
    base, nullable_inner = _unwrap_optional(base)
    nullable = nullable or nullable_inner
    hidden = [m for m in meta if isinstance(m, Hidden)]
    if hidden:
        return hidden[0].kind
    markers = [m for m in meta if isinstance(m, _Marker)]
    if len(markers) > 1:
        raise SpecError(f"{where}: more than one input marker on {param.name!r}")
    marker: _Marker | None = markers[0] if markers else None
    if marker is None:
        if get_origin(base) is Literal:
            marker = Combo(options=get_args(base))
        elif base in _PLAIN_WIDGETS:
            marker = _PLAIN_WIDGETS[base]()
        else:
            raise SpecError(
                f"{where}: parameter {param.name!r} needs a type: int/float/str/bool, a Literal, a socket "
                f"alias such as Image, or Annotated[..., Socket('TYPE')]"
            )
    if isinstance(marker, Combo) and not marker.options and get_origin(base) is Literal:
        marker = Combo(**{**marker.__dict__, "options": get_args(base)})
    type_name = marker.type if isinstance(marker, Socket) else marker.type_name
    default = getattr(marker, "default", None)
    if default is None and param.default is not _EMPTY:
        default = param.default
    optional = marker.optional or (nullable and param.default is None) or (
        isinstance(marker, Socket) and param.default is None)
    widget = {k: v for k, v in marker.widget_fields().items() if v is not None}
    return InputSpec(
        name=param.name,
        type=type_name,
        optional=optional,
        default=default if type_name in ("INT", "FLOAT", "STRING", "BOOLEAN", "COMBO") else None,
        tooltip=marker.tooltip,
        lazy=marker.lazy,
        force_input=marker.force_input,
        raw_link=marker.raw_link,
        extra=dict(marker.extra),
        **widget,
    )


def _output_from_annotation(where: str, tp: Any) -> OutputSpec:
    base, meta = _split_annotated(tp)
    out = next((m for m in meta if isinstance(m, Output)), Output())
    socket = next((m for m in meta if isinstance(m, Socket)), None)
    type_name = out.type or (socket.type if socket else None)
    if type_name is None:
        if base in _PLAIN_WIDGETS:
            type_name = _PLAIN_WIDGETS[base].type_name
        else:
            raise SpecError(f"{where}: cannot tell the output type of {tp!r}; use a socket alias or Output(type=)")
    return OutputSpec(type=type_name, name=out.name or type_name, is_list=out.is_list, tooltip=out.tooltip,
                      matchtype=out.matchtype)


def _outputs_from_return(where: str, ret: Any) -> tuple[OutputSpec, ...] | None:
    """Outputs from a return annotation; None when the annotation cannot say (NodeOutput)."""
    if ret is None or ret is type(None) or ret is _EMPTY:
        return ()
    if ret is NodeOutput:
        return None
    if get_origin(ret) is tuple:
        return tuple(_output_from_annotation(where, t) for t in get_args(ret))
    return (_output_from_annotation(where, ret),)


def _output_spec(item: Output | str) -> OutputSpec:
    if isinstance(item, str):
        return OutputSpec(type=item, name=item)
    if item.type is None:
        raise SpecError("Output(...) in outputs= needs a type")
    return OutputSpec(type=item.type, name=item.name or item.type, is_list=item.is_list, tooltip=item.tooltip,
                      matchtype=item.matchtype)


class _NativeImpl:
    """Calls a native function (or a method of a per-node instance) with keyword inputs."""

    def __init__(
        self,
        target: Callable[..., Any] | type,
        n_outputs: int,
        ctx_param: str | None,
        check_lazy: Callable[..., Any] | None,
        fingerprint: Callable[..., Any] | None,
        validate: Callable[..., Any] | None,
        dynamic: tuple[InputSpec, ...] = (),
    ) -> None:
        self._target = target
        self._dynamic = dynamic  # Autogrow / DynamicCombo declarations: their dotted inputs become dicts
        self._is_class = isinstance(target, type)
        self._n_outputs = n_outputs
        self._ctx_param = ctx_param
        self._check_lazy = check_lazy
        self._fingerprint = fingerprint
        self._validate = validate
        # Nodes that never look at their context skip building one (it is per call, on the hot path).
        self.wants_context = ctx_param is not None

    def create_instance(self) -> Any:
        return self._target() if self._is_class else None

    def _bound(self, instance: Any, name: str, fallback: Callable[..., Any] | None) -> Callable[..., Any]:
        if self._is_class:
            method: Callable[..., Any] = getattr(instance, name)
            return method
        assert fallback is not None
        return fallback

    def execute(self, instance: Any, ctx: NodeContext, inputs: dict[str, Any]) -> NodeOutput:
        fn = instance.execute if self._is_class else self._target
        if self._dynamic:
            inputs = nest(inputs, self._dynamic)
        if self._ctx_param is not None:
            inputs[self._ctx_param] = ctx
        return normalize_result(settle(fn(**inputs)), self._n_outputs, wrap_single=True)

    def check_lazy_status(self, instance: Any, ctx: NodeContext, inputs: dict[str, Any]) -> list[str] | None:
        fn = self._bound(instance, "check_lazy_status", self._check_lazy)
        if self._dynamic:
            inputs = nest(inputs, self._dynamic)
        if self._ctx_param is not None:
            inputs[self._ctx_param] = ctx
        result = settle(fn(**inputs))
        return list(result) if result else []

    def fingerprint(self, constants: dict[str, Any], folders: Folders | None) -> Any:
        assert self._fingerprint is not None
        return self._fingerprint(**_hook_args(self._fingerprint, constants, folders))

    def validate(self, constants: dict[str, Any], input_types: dict[str, Any] | None,
                 folders: Folders | None) -> bool | str:
        assert self._validate is not None
        args = _hook_args(self._validate, constants, folders)
        if "input_types" in inspect.signature(self._validate).parameters:
            args["input_types"] = input_types
        result = self._validate(**args)
        return result if isinstance(result, str) else bool(result)


def _env_params(hook: Callable[..., Any]) -> set[str]:
    """Hook parameters that receive the runtime's Folders rather than an input value."""
    hints = typing.get_type_hints(hook)
    return {name for name in inspect.signature(hook).parameters
            if hints.get(name) is Folders or name == "folders"}


def _hook_args(hook: Callable[..., Any], constants: dict[str, Any], folders: Folders | None) -> dict[str, Any]:
    """The constants a hook names (all of them if it takes **kwargs), plus Folders where it asks."""
    params = inspect.signature(hook).parameters
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    args = {k: v for k, v in constants.items() if takes_all or k in params}
    for name in _env_params(hook):
        args[name] = folders
    return args


def node(
    class_type: str | None = None,
    *,
    display_name: str | None = None,
    category: str = "utils",
    description: str | None = None,
    version: str = "1.0.0",
    output_node: bool = False,
    outputs: Sequence[Output | str] | None = None,
    cache: CachePolicy = CachePolicy.NORMAL,
    input_is_list: bool = False,
    accept_all_inputs: bool = False,
    deprecated: bool = False,
    experimental: bool = False,
    check_lazy: Callable[..., Any] | None = None,
    fingerprint: Callable[..., Any] | None = None,
    validate: Callable[..., Any] | None = None,
    allocates: Allocation | None = None,
) -> Callable[[F], F]:
    """Declare a node. ``class_type`` defaults to the function or class name.

    Functions are called with their inputs as keyword arguments. Classes are instantiated once per node
    in a graph (and reused across prompts); their ``execute`` method runs, and optional methods
    ``check_lazy_status``, ``fingerprint`` and ``validate`` take the place of the keyword hooks here:

    - ``check_lazy(**inputs) -> list[str]``: lazy inputs still needed (unevaluated ones arrive as None).
    - ``fingerprint(**constants)``: like ComfyUI's IS_CHANGED; a changed value re-runs the node.
    - ``validate(**constants) -> True | str``: custom validation; inputs it names skip built-in checks.

    ``allocates`` declares what a node making a tensor from nothing allocates (see :class:`Allocation`).

    Hooks receive only the constant inputs they name; a parameter annotated ``Folders`` receives the
    runtime's folders (to look at input files, for instance). In a class they are static methods.

    ``accept_all_inputs`` (ComfyUI V3's flag, with ``**kwargs``) also passes undeclared constants, for nodes
    whose extra widgets the canvas defines (CustomCombo's options).
    """

    def decorate(target: F) -> F:
        is_class = isinstance(target, type)
        obj: Any = target
        fn: Any = getattr(obj, "execute", None) if is_class else obj
        name = class_type or obj.__name__
        where = f"node {name!r}"
        if not callable(fn):
            raise SpecError(f"{where}: a node class needs an execute method")
        hints = typing.get_type_hints(fn, include_extras=True)
        inputs: list[InputSpec] = []
        hidden: dict[str, str] = {}
        ctx_param: str | None = None
        accepts_extra = False
        for param in inspect.signature(fn).parameters.values():
            if is_class and param.name == "self":
                continue
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                accepts_extra = True
                continue
            if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY):
                raise SpecError(f"{where}: inputs must be keyword-capable parameters ({param.name!r})")
            tp = hints.get(param.name, _EMPTY)
            if tp is NodeContext or (tp is _EMPTY and param.name == "ctx"):
                ctx_param = param.name
                continue
            if tp is _EMPTY:
                raise SpecError(f"{where}: parameter {param.name!r} has no type annotation")
            made = _input_from_parameter(where, param, tp)
            if isinstance(made, str):
                hidden[param.name] = made
            else:
                inputs.append(made)
        declared = _outputs_from_return(where, hints.get("return", _EMPTY))
        if outputs is not None:
            declared = tuple(_output_spec(o) for o in outputs)
        if declared is None:
            raise SpecError(f"{where}: returns NodeOutput, so declare its outputs with outputs=[...]")
        hooks = {
            "check_lazy": getattr(target, "check_lazy_status", None) if is_class else check_lazy,
            "fingerprint": getattr(target, "fingerprint", None) if is_class else fingerprint,
            "validate": getattr(target, "validate", None) if is_class else validate,
        }
        custom_validated: frozenset[str] = frozenset()
        validates_all = wants_types = False
        if hooks["validate"] is not None:
            vparams = inspect.signature(hooks["validate"]).parameters
            skip = {"input_types", "self", "cls"} | _env_params(hooks["validate"])
            custom_validated = frozenset(p for p, v in vparams.items()
                                         if p not in skip and v.kind is not inspect.Parameter.VAR_KEYWORD)
            validates_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in vparams.values())
            wants_types = "input_types" in vparams
        if accept_all_inputs and not accepts_extra:
            raise SpecError(f"{where}: accept_all_inputs needs a **kwargs parameter to receive them")
        dynamic = tuple(i for i in inputs if i.type in (AUTOGROW, DYNAMIC_COMBO))
        impl = _NativeImpl(obj if is_class else fn, len(declared), ctx_param, hooks["check_lazy"],
                           hooks["fingerprint"], hooks["validate"], dynamic)
        doc = description if description is not None else inspect.getdoc(target) or ""
        spec = NodeSpec(
            class_type=name,
            display_name=display_name or name,
            category=category,
            description=doc,
            version=version,
            inputs=tuple([i for i in inputs if not i.optional] + [i for i in inputs if i.optional]),
            hidden=hidden,
            outputs=declared,
            output_node=output_node,
            input_is_list=input_is_list,
            cache_policy=cache,
            deprecated=deprecated,
            experimental=experimental,
            accepts_extra_inputs=accepts_extra,
            accepts_all_inputs=accept_all_inputs,
            has_lazy_check=hooks["check_lazy"] is not None,
            has_fingerprint=hooks["fingerprint"] is not None,
            custom_validated=custom_validated,
            custom_validates_all=validates_all,
            has_custom_validation=hooks["validate"] is not None,
            wants_input_types=wants_types,
            allocation=allocates,
            impl=impl,
        )
        if any(i.lazy for i in spec.inputs) and not spec.has_lazy_check:
            raise SpecError(f"{where}: lazy inputs need a check_lazy hook to say when they are needed")
        check_spec(spec)
        obj.__node_spec__ = spec
        return target

    return decorate


def spec_of(obj: Any) -> NodeSpec:
    """The NodeSpec of a decorated node function or class."""
    spec = getattr(obj, "__node_spec__", None)
    if not isinstance(spec, NodeSpec):
        raise SpecError(f"{obj!r} is not a node (missing @node)")
    return spec


# ---------------------------------------------------------------------------------------------------
# ComfyUI V3's dynamic inputs (core.dynamic): markers that render the declaration into the input's
# options, where validation, the UI converter and the node call read it back.


def input_spec(name: str, annotation: Any, default: Any = _EMPTY) -> InputSpec:
    """One input declared outside a signature, written like a parameter: the template of an
    :func:`Autogrow`, the inputs of a :func:`DynamicCombo` option."""
    param = inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
    made = _input_from_parameter(f"input {name!r}", param, annotation)
    if isinstance(made, str):
        raise SpecError(f"input {name!r}: a hidden input cannot be part of a dynamic input")
    return made


def Autogrow(template: InputSpec, *, names: Sequence[str] | None = None, prefix: str | None = None,  # noqa: N802
             min: int = 1, max: int = 10, tooltip: str | None = None, optional: bool = False) -> Socket:  # noqa: A002
    """Sockets that grow as they are connected: ``names`` (``a, b, c …``) or ``prefix``0 … ``prefix``(max−1).
    The node receives a dict of the connected ones by name. Widget templates become sockets, as in
    ComfyUI."""
    if (names is None) == (prefix is None):
        raise SpecError("Autogrow needs either names or a prefix")
    if template.is_widget:
        template = template.model_copy(update={"force_input": True})
    declaration: dict[str, Any] = {"input": inputs_config([template])}
    if names is not None:
        declaration.update(names=list(names), min=min)
    else:
        declaration.update(prefix=prefix, min=min, max=max)
    return Socket(type=AUTOGROW, tooltip=tooltip, optional=optional, extra={"template": declaration})


def DynamicCombo(options: Mapping[str, Sequence[InputSpec]], *, tooltip: str | None = None,  # noqa: N802
                 optional: bool = False) -> Socket:
    """A combo whose chosen option brings its own inputs; the node receives a dict holding the choice
    under the input's own name and the chosen option's inputs under theirs."""
    rendered = [{"key": key, "inputs": inputs_config(inputs)} for key, inputs in options.items()]
    return Socket(type=DYNAMIC_COMBO, tooltip=tooltip, optional=optional, extra={"options": rendered})


def MatchType(template: str, allowed: str = "*", *, tooltip: str | None = None, lazy: bool = False,  # noqa: N802
              optional: bool = False) -> Socket:
    """A socket that takes any of ``allowed`` (comma-separated, ``*`` for all); outputs declared with
    ``Output(type=MATCHTYPE_TYPE, matchtype=template)`` take the connected type in the canvas."""
    return Socket(type=MATCHTYPE, tooltip=tooltip, lazy=lazy, optional=optional,
                  extra={"template": {"template_id": template, "allowed_types": allowed}})


MATCHTYPE_TYPE = MATCHTYPE
