"""ComfyUI's V3 dynamic inputs: one declared input that stands for a set of inputs decided by the prompt.

- ``COMFY_AUTOGROW_V3`` (Autogrow): sockets that appear as you connect them. ``values`` with template
  names ``a, b, c …`` arrives in a prompt as inputs ``values.a``, ``values.b`` …, and reaches the node as
  the dict ``{"a": …, "b": …}`` of those present.
- ``COMFY_DYNAMICCOMBO_V3`` (DynamicCombo): a combo whose chosen option brings its own inputs.
  ``resize_type = "scale dimensions"`` brings ``resize_type.width`` and ``resize_type.height``; the node
  receives ``{"resize_type": "scale dimensions", "width": …, "height": …}``. Options may nest.
- ``COMFY_MATCHTYPE_V3`` (MatchType): a socket that takes any type and passes it on (no expansion; see
  :func:`engine.spec.types_compatible`).

The declarations live in the input's options exactly as ComfyUI serialises them for ``/object_info``
(``{"template": {"input": {...}, "names" | "prefix", "min", "max"}}`` and ``{"options": [{"key",
"inputs"}]}``), and expansion reads them back from there, as ComfyUI does, so a declaration has one
source of truth and any front door that renders V1 options gets dynamic inputs for free.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .spec import AUTOGROW, DYNAMIC_COMBO, InputSpec, NodeSpec

DYNAMIC_TYPES = (AUTOGROW, DYNAMIC_COMBO)
AUTOGROW_MAX_NAMES = 100  # ComfyUI's limit

# V1 option keys that InputSpec models under another name; flags are booleans.
_FIELDS = {"default": "default", "min": "min", "max": "max", "step": "step", "round": "round",
           "display": "display", "multiline": "multiline", "placeholder": "placeholder",
           "dynamicPrompts": "dynamic_prompts", "label_on": "label_on", "label_off": "label_off",
           "image_upload": "image_upload", "control_after_generate": "control_after_generate",
           "tooltip": "tooltip"}
_FLAGS = {"forceInput": "force_input", "lazy": "lazy", "rawLink": "raw_link"}


def inputs_config(inputs: Iterable[InputSpec]) -> dict[str, Any]:
    """Inputs rendered as ComfyUI's ``{"required": {...}, "optional": {...}}`` (static choices only)."""
    out: dict[str, Any] = {"required": {}}
    for inp in inputs:
        config = inp.input_config(None)
        if len(config) == 1:
            config.append({})  # V3 declarations always carry an options object
        out.setdefault("optional" if inp.optional else "required", {})[inp.name] = config
    return out


def input_from_config(name: str, config: Sequence[Any], optional: bool = False) -> InputSpec:
    """An InputSpec from one V1 ``[type, options]`` entry (a list as the type is a legacy combo)."""
    kind = config[0]
    options = config[1] if len(config) > 1 and isinstance(config[1], dict) else {}
    fields: dict[str, Any] = {"name": name, "optional": optional, "extra": {}}
    for key, value in options.items():
        if key in _FIELDS:
            fields[_FIELDS[key]] = value
        elif key in _FLAGS:
            fields[_FLAGS[key]] = bool(value)
        elif key != "options" or kind != "COMBO":  # a V3 combo's choices; a DynamicCombo keeps its options
            fields["extra"][key] = value
    if isinstance(kind, (list, tuple)):
        return InputSpec(type="COMBO", choices=tuple(kind), **fields)
    if kind == "COMBO":
        return InputSpec(type="COMBO", choices=tuple(options.get("options", ())), combo_style="COMBO", **fields)
    return InputSpec(type=str(kind), **fields)


def dynamic_inputs(spec: NodeSpec) -> tuple[InputSpec, ...]:
    """The node's Autogrow and DynamicCombo declarations (usually none)."""
    return tuple(i for i in spec.inputs if i.type in DYNAMIC_TYPES)


def autogrow_names(inp: InputSpec) -> list[str]:
    """The names an Autogrow's sockets may take, in order."""
    template = inp.extra.get("template", {})
    if "names" in template:
        return list(template["names"])[:AUTOGROW_MAX_NAMES]
    return [f"{template.get('prefix', '')}{i}" for i in range(int(template.get("max", 10)))]


def _template_config(inp: InputSpec) -> Sequence[Any]:
    for section in inp.extra.get("template", {}).get("input", {}).values():
        for config in section.values():
            return config  # type: ignore[no-any-return]
    raise ValueError(f"Autogrow input {inp.name!r} has no template input")


def option_inputs(inp: InputSpec, key: Any) -> list[InputSpec] | None:
    """The inputs the DynamicCombo option ``key`` brings (names without prefix), or None if no such option."""
    for option in inp.extra.get("options", ()):
        if option.get("key") == key:
            return [input_from_config(name, config, section == "optional")
                    for section, entries in option.get("inputs", {}).items() if section in ("required", "optional")
                    for name, config in entries.items()]
    return None


def combo_stand_in(inp: InputSpec, name: str) -> InputSpec:
    """The DynamicCombo's own value, checked as a plain combo of its option keys."""
    keys = tuple(option.get("key") for option in inp.extra.get("options", ()))
    return InputSpec(name=name, type="COMBO", choices=keys, default=keys[0] if keys else None,
                     optional=inp.optional, tooltip=inp.tooltip)


def expand(inputs: Iterable[InputSpec], live: Mapping[str, Any], prefix: str = "") -> list[InputSpec]:
    """Concrete inputs (dotted names) for declared ones, given the inputs present in a prompt node.

    Autogrow sockets exist only where the prompt has them (the first ``min`` required, the rest optional);
    a DynamicCombo becomes a combo of its option keys plus the chosen option's inputs. A DynamicCombo
    missing from the prompt stays, so validation reports it missing (ComfyUI would fail at run time).
    """
    out: list[InputSpec] = []
    for inp in inputs:
        name = f"{prefix}{inp.name}"
        if inp.type == AUTOGROW:
            config = _template_config(inp)
            minimum = int(inp.extra.get("template", {}).get("min", 1))
            for index, socket in enumerate(autogrow_names(inp)):
                full = f"{name}.{socket}"
                if full in live:
                    out.append(input_from_config(full, config, optional=index >= minimum))
        elif inp.type == DYNAMIC_COMBO:
            out.append(combo_stand_in(inp, name))
            chosen = option_inputs(inp, live.get(name)) if name in live else None
            if chosen:
                out.extend(expand(chosen, live, f"{name}."))
        else:
            out.append(inp.model_copy(update={"name": name}) if prefix else inp)
    return out


def expanded_inputs(spec: NodeSpec, live: Mapping[str, Any]) -> Sequence[InputSpec]:
    """``spec.inputs`` with dynamic declarations expanded for this prompt node."""
    if not dynamic_inputs(spec):
        return spec.inputs
    return expand(spec.inputs, live)


def declares(spec: NodeSpec, name: str) -> bool:
    """Whether an input name in a prompt can belong to the node (a declared or a dynamic input's name)."""
    if spec.input(name) is not None:
        return True
    head = name.split(".", 1)[0]
    declared = spec.input(head)
    return declared is not None and declared.type in DYNAMIC_TYPES


def _combo_paths(inputs: Iterable[InputSpec], values: Mapping[str, Any], prefix: str = "") -> set[str]:
    """Dotted names of the DynamicCombos that are in play, nested ones included."""
    paths: set[str] = set()
    for inp in inputs:
        if inp.type != DYNAMIC_COMBO:
            continue
        name = f"{prefix}{inp.name}"
        paths.add(name)
        chosen = option_inputs(inp, values.get(name))
        if chosen:
            paths |= _combo_paths(chosen, values, f"{name}.")
    return paths


def nest(values: Mapping[str, Any], declared: Sequence[InputSpec]) -> dict[str, Any]:
    """Flat prompt inputs → the shape a V3 node receives: an Autogrow or DynamicCombo input becomes a dict
    (empty when nothing of it is present); a DynamicCombo's own value sits under its own name inside it."""
    heads = {i.name for i in declared}
    combos = _combo_paths(declared, values)
    out: dict[str, Any] = {}
    for inp in declared:
        if inp.type == AUTOGROW:
            out[inp.name] = {}
    for key, value in values.items():
        parts = key.split(".")
        if parts[0] not in heads:
            out[key] = value
            continue
        if key in combos:
            parts.append(parts[-1])
        target = out
        for part in parts[:-1]:
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        target[parts[-1]] = value
    return out
