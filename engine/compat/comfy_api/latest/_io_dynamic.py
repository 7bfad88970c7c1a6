"""ComfyUI's V3 inputs whose shape depends on the node's other inputs: ``MultiType`` (several accepted
types), ``MatchType`` (inputs and outputs sharing a type the user picks), ``Autogrow`` (inputs that grow as
the user connects them), ``DynamicCombo`` (a choice that brings its own inputs) and ``DynamicSlot`` (a
socket whose inputs appear once it is connected).

In a prompt their members are flat, dotted names (``images.image0``, ``mode.width``); the node's
``execute`` receives them nested (``images={"image0": …}``, ``mode={"mode": "a", "width": …}``). How the
engine validates and nests them is :mod:`inkgraph.engine.compat.v3_adapter`'s concern.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from ..internal import is_class, prune_dict
from ._io_base import (
    ComfyTypeI,
    ComfyTypeIO,
    Input,
    Output,
    WidgetInput,
    _ComfyType,
    comfytype,
    create_input_dict_v1,
)
from ._io_types import AnyType

_BaseInput = Input
_BaseOutput = Output


class DynamicInput(Input):
    """An input standing for several (its members are other inputs)."""


class DynamicOutput(Output):
    """An output standing for several."""


@comfytype(io_type="COMFY_MULTITYPED_V3")
class MultiType(ComfyTypeI):
    Type = Any

    class Input(_BaseInput):
        """An input accepting any of ``types``; when ``id`` is another input, that input's widget is kept."""

        def __init__(self, id: str | Input, types: list[Any], display_name: str | None = None,
                     optional: bool = False, tooltip: str | None = None, lazy: bool | None = None,
                     extra_dict: dict[str, Any] | None = None, raw_link: bool | None = None,
                     advanced: bool | None = None) -> None:
            self.input_override: Input | None = None
            if isinstance(id, Input):
                self.input_override = copy.copy(id)
                optional = id.optional if id.optional is True else optional
                tooltip = id.tooltip if id.tooltip is not None else tooltip
                display_name = id.display_name if id.display_name is not None else display_name
                lazy = id.lazy if id.lazy is not None else lazy
                if isinstance(self.input_override, WidgetInput):
                    self.input_override.widget_type = self.input_override.get_io_type()
                id = id.id
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict, raw_link, advanced)
            self._io_types = types

        @property
        def io_types(self) -> list[Any]:
            return [x if is_class(x) else type(x) for x in self._io_types]

        def get_io_type(self) -> str:
            names = [str(x.io_type) for x in self.io_types]
            if self.input_override is not None:
                names.insert(0, str(self.input_override.get_io_type()))
            return ",".join(dict.fromkeys(names))

        def as_dict(self) -> dict[str, Any]:
            if self.input_override is not None:
                return self.input_override.as_dict() | super().as_dict()
            return super().as_dict()


@comfytype(io_type="COMFY_MATCHTYPE_V3")
class MatchType(ComfyTypeIO):
    class Template:
        """A type variable: inputs and outputs with the same template take the same type."""

        def __init__(self, template_id: str, allowed_types: Any = AnyType) -> None:
            self.template_id = template_id
            if not isinstance(allowed_types, Iterable):
                allowed_types = [allowed_types]
            for t in allowed_types:
                kind = t if isinstance(t, type) else type(t)
                if not issubclass(kind, _ComfyType):
                    raise ValueError(f"Allowed types must be a ComfyType or a list of ComfyTypes, got {kind.__name__}")
            self.allowed_types = list(allowed_types)

        def as_dict(self) -> dict[str, Any]:
            return {"template_id": self.template_id,
                    "allowed_types": ",".join(str(t.io_type) for t in self.allowed_types)}

    class Input(_BaseInput):
        def __init__(self, id: str, template: MatchType.Template, display_name: str | None = None,
                     optional: bool = False, tooltip: str | None = None, lazy: bool | None = None,
                     extra_dict: dict[str, Any] | None = None, raw_link: bool | None = None,
                     advanced: bool | None = None) -> None:
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict, raw_link, advanced)
            self.template = template

        def as_dict(self) -> dict[str, Any]:
            rendered: dict[str, Any] = super().as_dict() | prune_dict({"template": self.template.as_dict()})
            return rendered

    class Output(_BaseOutput):
        def __init__(self, template: MatchType.Template, id: str | None = None, display_name: str | None = None,
                     tooltip: str | None = None, is_output_list: bool = False) -> None:
            if not id and not display_name:
                display_name = "MATCHTYPE"
            super().__init__(id, display_name, tooltip, is_output_list)
            self.template = template

        def as_dict(self) -> dict[str, Any]:
            rendered: dict[str, Any] = super().as_dict() | prune_dict({"template": self.template.as_dict()})
            return rendered


@comfytype(io_type="COMFY_AUTOGROW_V3")
class Autogrow(ComfyTypeI):
    Type = dict[str, Any]
    _MaxNames = 100

    class _AutogrowTemplate:
        def __init__(self, input: Input) -> None:
            if isinstance(input, DynamicInput):
                raise ValueError("an Autogrow template cannot itself be a dynamic input")
            self.input = copy.copy(input)
            if isinstance(self.input, WidgetInput):
                self.input.force_input = True
            self.names: list[str] = []

        def members(self) -> list[Input]:
            made = []
            for name in self.names:
                member = copy.copy(self.input)
                member.id = name
                made.append(member)
            return made

        def get_all(self) -> list[Input]:
            return self.members()

        def as_dict(self) -> dict[str, Any]:
            return prune_dict({"input": create_input_dict_v1([self.input])})

        def validate(self) -> None:
            self.input.validate()

    class TemplatePrefix(_AutogrowTemplate):
        """Members named ``prefix0`` … ``prefix{max-1}``; the first ``min`` are required."""

        def __init__(self, input: Input, prefix: str, min: int = 1, max: int = 10) -> None:
            super().__init__(input)
            if not (0 <= min and 1 <= max <= Autogrow._MaxNames):
                raise ValueError(f"Autogrow.TemplatePrefix: min {min} / max {max} out of range")
            self.prefix, self.min, self.max = prefix, min, max
            self.names = [f"{prefix}{i}" for i in range(max)]

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict({"prefix": self.prefix, "min": self.min, "max": self.max})

    class TemplateNames(_AutogrowTemplate):
        """Members with the given names; the first ``min`` are required."""

        def __init__(self, input: Input, names: list[str], min: int = 1) -> None:
            super().__init__(input)
            if min < 0:
                raise ValueError("Autogrow.TemplateNames: min must not be negative")
            self.names, self.min = list(names[:Autogrow._MaxNames]), min

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict({"names": self.names, "min": self.min})

    class Input(DynamicInput):
        def __init__(self, id: str, template: Any, display_name: str | None = None, optional: bool = False,
                     tooltip: str | None = None, lazy: bool | None = None,
                     extra_dict: dict[str, Any] | None = None) -> None:
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
            self.template = template

        def as_dict(self) -> dict[str, Any]:
            rendered: dict[str, Any] = super().as_dict() | prune_dict({"template": self.template.as_dict()})
            return rendered

        def get_all(self) -> list[Input]:
            return [self, *self.template.get_all()]

        def validate(self) -> None:
            self.template.validate()


@comfytype(io_type="COMFY_DYNAMICCOMBO_V3")
class DynamicCombo(ComfyTypeI):
    Type = dict[str, Any]

    class Option:
        """One choice of a DynamicCombo and the inputs it brings."""

        def __init__(self, key: str, inputs: list[Input]) -> None:
            self.key, self.inputs = key, inputs

        def as_dict(self) -> dict[str, Any]:
            return {"key": self.key, "inputs": create_input_dict_v1(self.inputs)}

    class Input(DynamicInput):
        def __init__(self, id: str, options: list[DynamicCombo.Option], display_name: str | None = None,
                     optional: bool = False, tooltip: str | None = None, lazy: bool | None = None,
                     extra_dict: dict[str, Any] | None = None) -> None:
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
            self.options = options

        def get_all(self) -> list[Input]:
            return [self, *(i for option in self.options for i in option.inputs)]

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict({"options": [o.as_dict() for o in self.options]})

        def validate(self) -> None:
            for option in self.options:
                for i in option.inputs:
                    i.validate()


@comfytype(io_type="COMFY_DYNAMICSLOT_V3")
class DynamicSlot(ComfyTypeI):
    Type = dict[str, Any]

    class Input(DynamicInput):
        """A socket (``slot``) whose ``inputs`` appear once it is connected; always optional."""

        def __init__(self, slot: Input, inputs: list[Input], display_name: str | None = None,
                     tooltip: str | None = None, lazy: bool | None = None,
                     extra_dict: dict[str, Any] | None = None) -> None:
            if isinstance(slot, DynamicInput):
                raise ValueError("a DynamicSlot's slot cannot itself be a dynamic input")
            self.slot = copy.copy(slot)
            self.slot.display_name = slot.display_name if slot.display_name is not None else display_name
            self.slot.tooltip = slot.tooltip if slot.tooltip is not None else tooltip
            self.slot.lazy = slot.lazy if slot.lazy is not None else lazy
            self.slot.extra_dict = slot.extra_dict if slot.extra_dict is not None else (extra_dict or {})
            super().__init__(slot.id, self.slot.display_name, True, self.slot.tooltip, self.slot.lazy,
                             self.slot.extra_dict)
            self.inputs = inputs
            self.force_input: bool | None = None
            if isinstance(self.slot, WidgetInput):
                self.force_input = self.slot.force_input = True

        def get_all(self) -> list[Input]:
            return [self.slot, *self.inputs]

        def as_dict(self) -> dict[str, Any]:
            return super().as_dict() | prune_dict({"slotType": str(self.slot.get_io_type()),
                                                   "inputs": create_input_dict_v1(self.inputs),
                                                   "forceInput": self.force_input})

        def validate(self) -> None:
            self.slot.validate()
            for i in self.inputs:
                i.validate()
