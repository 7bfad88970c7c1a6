"""ComfyUI V1 node classes (``INPUT_TYPES``, ``RETURN_TYPES``, ``FUNCTION`` …) as NodeSpecs.

The adapter reads a pack's classes as ComfyUI's loader does: required / optional / hidden inputs,
both combo forms, every input option, output names, tooltips and list flags, ``INPUT_IS_LIST``,
``OUTPUT_NODE``, ``IS_CHANGED``, ``VALIDATE_INPUTS`` (with ``input_types``), ``check_lazy_status``,
``NOT_IDEMPOTENT``, description / deprecated / experimental, and sync or ``async`` functions. Calls return
a tuple, a ``{"ui", "result", "expand"}`` dict or an ``ExecutionBlocker``; :mod:`engine.results` reads all of
them. Combo choices that ``INPUT_TYPES()`` computes (file lists) are asked for again whenever they are
needed, as ComfyUI does.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from ..core.context import NodeContext, running
from ..core.paths import Folders
from ..core.results import normalize_result, settle
from ..core.spec import HIDDEN_KINDS, CachePolicy, InputSpec, NodeSpec, OutputSpec, SpecError
from .values import to_comfy, to_inkgraph

log = logging.getLogger(__name__)

# V1 option keys that InputSpec models; every other key is kept verbatim in ``extra``.
_FIELDS = {"default": "default", "min": "min", "max": "max", "step": "step", "round": "round",
           "display": "display", "multiline": "multiline", "placeholder": "placeholder",
           "dynamicPrompts": "dynamic_prompts", "label_on": "label_on", "label_off": "label_off",
           "image_upload": "image_upload", "control_after_generate": "control_after_generate",
           "tooltip": "tooltip"}
_FLAGS = {"forceInput": "force_input", "lazy": "lazy", "rawLink": "raw_link"}


def is_v1_class(obj: Any) -> bool:
    return isinstance(obj, type) and callable(getattr(obj, "INPUT_TYPES", None)) and hasattr(obj, "FUNCTION")


def _input_spec(cls: type, section: str, name: str, entry: Any) -> InputSpec:
    if not isinstance(entry, (tuple, list)) or not entry:
        raise SpecError(f"{cls.__name__}: input {name!r} must be a tuple (type, options)")
    kind, options = entry[0], (entry[1] if len(entry) > 1 and isinstance(entry[1], dict) else {})
    fields: dict[str, Any] = {"name": name, "optional": section == "optional", "extra": {}}
    for key, value in options.items():
        if key in _FIELDS:
            fields[_FIELDS[key]] = value
        elif key in _FLAGS:
            fields[_FLAGS[key]] = bool(value)
        elif key == "defaultInput":  # deprecated spelling of forceInput
            fields["force_input"] = bool(value)
            fields["extra"][key] = value
        elif key != "options":
            fields["extra"][key] = value

    def provider(folders: Folders | None) -> list[Any]:
        """Choices as INPUT_TYPES() gives them now (packs list files there)."""
        current = cls.INPUT_TYPES().get(section, {}).get(name, entry)  # type: ignore[attr-defined]
        head = current[0]
        if isinstance(head, (list, tuple)):
            return list(head)
        return list((current[1] if len(current) > 1 else {}).get("options", []))

    if isinstance(kind, (list, tuple)):  # legacy combo: the choices are the type
        return InputSpec(type="COMBO", choices_provider=provider, combo_style="list", **fields)
    if kind == "COMBO":
        return InputSpec(type="COMBO", choices_provider=provider, combo_style="COMBO", **fields)
    if not isinstance(kind, str):
        raise SpecError(f"{cls.__name__}: input {name!r} has type {kind!r}, expected a string or a list")
    return InputSpec(type=kind, **fields)


def _parameters(fn: Callable[..., Any] | None) -> tuple[set[str], bool]:
    """(parameter names, takes **kwargs) of a hook."""
    if fn is None:
        return set(), False
    params = inspect.signature(fn).parameters
    return set(params), any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def spec_from_v1(class_type: str, cls: type, display_name: str | None = None,
                 python_module: str = "custom_nodes") -> NodeSpec:
    """The NodeSpec of one V1 class; SpecError when the declaration cannot work."""
    if not is_v1_class(cls):
        raise SpecError(f"{class_type}: not a ComfyUI node class (INPUT_TYPES and FUNCTION are required)")
    function = str(getattr(cls, "FUNCTION", ""))
    if not callable(getattr(cls, function, None)):
        raise SpecError(f"{class_type}: FUNCTION names {function!r}, which the class does not define")
    try:
        declared = cls.INPUT_TYPES()  # type: ignore[attr-defined]
    except Exception as exc:
        raise SpecError(f"{class_type}: INPUT_TYPES() raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(declared, dict):
        raise SpecError(f"{class_type}: INPUT_TYPES() must return a dict, got {type(declared).__name__}")
    required = {name: _input_spec(cls, "required", name, entry)
                for name, entry in (declared.get("required") or {}).items()}
    inputs = list(required.values())
    for name, entry in (declared.get("optional") or {}).items():
        twin = _input_spec(cls, "optional", name, entry)
        if name in required:  # ComfyUI reads the required declaration and lists both
            index = inputs.index(required[name])
            inputs[index] = inputs[index].model_copy(update={"optional_twin": twin})
        else:
            inputs.append(twin)
    hidden = {name: kind for name, kind in (declared.get("hidden") or {}).items()
              if isinstance(kind, str) and kind in HIDDEN_KINDS}
    return_types = tuple(getattr(cls, "RETURN_TYPES", ()) or ())
    names = tuple(getattr(cls, "RETURN_NAMES", None) or ())
    tooltips = tuple(getattr(cls, "OUTPUT_TOOLTIPS", None) or ())
    is_list = tuple(getattr(cls, "OUTPUT_IS_LIST", None) or ())
    outputs = tuple(
        OutputSpec(type=tuple(t) if isinstance(t, (list, tuple)) else str(t),
                   name=names[i] if i < len(names) else (str(t) if isinstance(t, str) else "COMBO"),
                   is_list=bool(is_list[i]) if i < len(is_list) else False,
                   tooltip=tooltips[i] if i < len(tooltips) else None)
        for i, t in enumerate(return_types))
    validator = getattr(cls, "VALIDATE_INPUTS", None)
    validated, validates_all = _parameters(validator)
    input_names = {i.name for i in inputs}
    impl = V1Impl(cls, class_type, len(outputs), function)
    return NodeSpec(
        class_type=class_type,
        display_name=display_name or class_type,
        category=getattr(cls, "CATEGORY", "sd"),
        description=getattr(cls, "DESCRIPTION", "") or "",
        inputs=tuple(inputs),
        hidden=hidden,
        outputs=outputs,
        output_node=bool(getattr(cls, "OUTPUT_NODE", False)),
        input_is_list=bool(getattr(cls, "INPUT_IS_LIST", False)),
        cache_policy=CachePolicy.NORMAL,
        # ComfyUI hands a V1 node every linked input of its prompt entry, declared or not: the frontend adds
        # sockets (image_3, image_4 … of KJNodes' "Multi" nodes) that INPUT_TYPES never lists.
        accepts_extra_inputs=True,
        not_idempotent=bool(getattr(cls, "NOT_IDEMPOTENT", False)),
        deprecated=bool(getattr(cls, "DEPRECATED", False)),
        experimental=bool(getattr(cls, "EXPERIMENTAL", False)),
        python_module=python_module,
        has_lazy_check=callable(getattr(cls, "check_lazy_status", None)),
        has_fingerprint=callable(getattr(cls, "IS_CHANGED", None)),
        custom_validated=frozenset(validated & input_names),
        custom_validates_all=validates_all,
        has_custom_validation=validator is not None,
        wants_input_types="input_types" in validated,
        impl=impl,
    )


class V1Impl:
    """Calls a V1 class the way ComfyUI does: one instance per node id, FUNCTION with keyword inputs."""

    wants_context = True

    def __init__(self, cls: type, class_type: str, n_outputs: int, function: str) -> None:
        self.cls, self.class_type, self.n_outputs, self.function = cls, class_type, n_outputs, function
        self.hidden_names = {name for name, kind in (cls.INPUT_TYPES().get("hidden") or {}).items()  # type: ignore[attr-defined]
                             if not (isinstance(kind, str) and kind in HIDDEN_KINDS)}

    def create_instance(self) -> Any:
        return self.cls()

    def execute(self, instance: Any, ctx: NodeContext, inputs: dict[str, Any]) -> Any:
        for name in self.hidden_names:  # hidden kinds this engine does not provide arrive as None
            inputs.setdefault(name, None)
        with running(ctx):  # MODEL/CLIP/VAE… reach the pack as ComfyUI's objects, and come back as handles
            value = settle(getattr(instance, self.function)(**{k: to_comfy(v) for k, v in inputs.items()}))
            value = to_inkgraph(value)
        return normalize_result(value, self.n_outputs, wrap_single=False)

    def check_lazy_status(self, instance: Any, ctx: NodeContext, inputs: dict[str, Any]) -> list[str] | None:
        with running(ctx):
            needed = settle(instance.check_lazy_status(**{k: to_comfy(v) for k, v in inputs.items()}))
        if needed is None:
            return []
        return [needed] if isinstance(needed, str) else [n for n in needed if isinstance(n, str)]

    def fingerprint(self, constants: dict[str, Any], folders: Folders | None) -> Any:
        hook = self.cls.IS_CHANGED  # type: ignore[attr-defined]
        names, takes_all = _parameters(hook)
        return settle(hook(**{k: v for k, v in constants.items() if takes_all or k in names}))

    def validate(self, constants: dict[str, Any], input_types: dict[str, Any] | None,
                 folders: Folders | None) -> bool | str:
        hook = self.cls.VALIDATE_INPUTS  # type: ignore[attr-defined]
        names, takes_all = _parameters(hook)
        args = {k: v for k, v in constants.items() if takes_all or k in names}
        if "input_types" in names:
            args["input_types"] = input_types or {}
        result = settle(hook(**args))
        return result if isinstance(result, str) else bool(result)


def specs_from_mappings(class_mappings: dict[str, Any], display_names: dict[str, str] | None,
                        python_module: str, api_nodes: bool = True) -> tuple[list[NodeSpec], list[str]]:
    """Specs of a pack's NODE_CLASS_MAPPINGS (V1 classes, or V3 ``io.ComfyNode`` classes, which ComfyUI
    accepts there too); declarations that cannot work are skipped with a reason."""
    from .v3_adapter import is_v3_class, spec_from_v3

    specs, skipped = [], []
    for class_type, cls in class_mappings.items():
        try:
            if isinstance(cls, type):  # ComfyUI tells each class where it came from; packs read it
                cls.RELATIVE_PYTHON_MODULE = python_module  # type: ignore[attr-defined]
            if not api_nodes and getattr(cls, "API_NODE", False) is True:
                skipped.append(f"{class_type}: an API node (--disable-api-nodes)")
                continue
            if is_v3_class(cls):
                specs.append(spec_from_v3(cls, python_module, class_type=class_type,
                                          display_name=(display_names or {}).get(class_type)))
                continue
            specs.append(spec_from_v1(class_type, cls, (display_names or {}).get(class_type), python_module))
        except SpecError as exc:
            skipped.append(str(exc))
        except Exception as exc:  # a declaration that raises while being read
            skipped.append(f"{class_type}: {type(exc).__name__}: {exc}")
    return specs, skipped
