"""The foundations of ComfyUI's V3 ``io`` module: option enums, ``comfytype``, and the Input / WidgetInput /
Output classes every socket type specialises.

Each ``as_dict`` renders an input's options exactly as ComfyUI does (keys, order, what is left out when
unset), because that dict is what ``/object_info`` shows for V3 nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, Literal, TypeVar

from ..internal import copy_class, prune_dict


class FolderType(StrEnum):
    input = "input"
    output = "output"
    temp = "temp"


class UploadType(StrEnum):
    image = "image_upload"
    audio = "audio_upload"
    video = "video_upload"
    model = "file_upload"


class NumberDisplay(StrEnum):
    number = "number"
    slider = "slider"
    gradient_slider = "gradientslider"


class ControlAfterGenerate(StrEnum):
    fixed = "fixed"
    increment = "increment"
    decrement = "decrement"
    randomize = "randomize"


class RemoteOptions:
    """A combo whose options the frontend fetches from ``route``."""

    def __init__(self, route: str, refresh_button: bool, control_after_refresh: Literal["first", "last"] = "first",
                 timeout: int | None = None, max_retries: int | None = None, refresh: int | None = None) -> None:
        self.route, self.refresh_button, self.control_after_refresh = route, refresh_button, control_after_refresh
        self.timeout, self.max_retries, self.refresh = timeout, max_retries, refresh

    def as_dict(self) -> dict[str, Any]:
        return prune_dict({"route": self.route, "refresh_button": self.refresh_button,
                           "control_after_refresh": self.control_after_refresh, "timeout": self.timeout,
                           "max_retries": self.max_retries, "refresh": self.refresh})


class RemoteItemSchema:
    """How the items of a rich remote combo map to dropdown entries."""

    def __init__(self, value_field: str, label_field: str, preview_url_field: str | None = None,
                 preview_type: Literal["image", "video", "audio"] = "image", description_field: str | None = None,
                 search_fields: list[str] | None = None) -> None:
        self.value_field, self.label_field, self.preview_url_field = value_field, label_field, preview_url_field
        self.preview_type, self.description_field, self.search_fields = preview_type, description_field, search_fields

    def as_dict(self) -> dict[str, Any]:
        return prune_dict({"value_field": self.value_field, "label_field": self.label_field,
                           "preview_url_field": self.preview_url_field, "preview_type": self.preview_type,
                           "description_field": self.description_field, "search_fields": self.search_fields})


class RemoteComboOptions:
    """A rich remote combo (previews, search) fed from ``route``."""

    def __init__(self, route: str, item_schema: RemoteItemSchema, refresh_button: bool = True,
                 auto_select: Literal["first", "last"] | None = None, timeout: int | None = None,
                 max_retries: int | None = None, refresh: int | None = None, response_key: str | None = None) -> None:
        if not route.startswith("/"):
            raise ValueError(f"RemoteComboOptions: 'route' must be a relative path starting with '/'; got {route!r}.")
        self.route, self.item_schema, self.refresh_button, self.auto_select = route, item_schema, refresh_button, \
            auto_select
        self.timeout, self.max_retries, self.refresh, self.response_key = timeout, max_retries, refresh, response_key

    def as_dict(self) -> dict[str, Any]:
        return prune_dict({"route": self.route, "item_schema": self.item_schema.as_dict(),
                           "refresh_button": self.refresh_button, "auto_select": self.auto_select,
                           "timeout": self.timeout, "max_retries": self.max_retries, "refresh": self.refresh,
                           "response_key": self.response_key})


class _ComfyType:
    Type: Any = Any
    io_type: str = None  # type: ignore[assignment]


T = TypeVar("T", bound=type)


def comfytype(io_type: str, **kwargs: Any) -> Callable[[T], T]:
    """Class decorator binding a socket type string to a ComfyType; its Input/Output classes learn their
    parent. A class that is not yet a ComfyType becomes one (a subclass also deriving ``ComfyTypeIO``)."""

    def decorator(cls: T) -> T:
        made: Any
        if issubclass(cls, _ComfyType):
            made = cls
            for part in ("Input", "Output"):
                if hasattr(made, part):
                    setattr(made, part, copy_class(getattr(made, part)))
        else:
            attributes = {k: v for k, v in cls.__dict__.items()
                          if k not in ("__dict__", "__weakref__", "__module__", "__doc__")}
            made = type(cls.__name__, (cls, ComfyTypeIO), attributes)
            made.__module__, made.__doc__ = cls.__module__, cls.__doc__
        made.io_type = io_type
        for part in ("Input", "Output"):
            inner = getattr(made, part, None)
            if inner is not None:
                inner.Parent = made
        return made  # type: ignore[no-any-return]

    return decorator


def Custom(io_type: str) -> type[ComfyTypeIO]:  # noqa: N802 - ComfyUI's name
    """A socket type of a pack's own (``io.Custom("MY_TYPE").Input("x")``)."""

    @comfytype(io_type=io_type)
    class CustomComfyType(ComfyTypeIO):
        ...

    return CustomComfyType


class _IO_V3:  # noqa: N801 - ComfyUI's name
    """Base of V3 inputs and outputs: they know their ComfyType (``Parent``)."""

    Parent: Any = None

    def validate(self) -> None:
        return None

    @property
    def io_type(self) -> Any:
        return self.Parent.io_type

    @property
    def Type(self) -> Any:  # noqa: N802
        return self.Parent.Type


class Input(_IO_V3):
    """One input of a V3 node."""

    def __init__(self, id: str, display_name: str | None = None, optional: bool = False, tooltip: str | None = None,
                 lazy: bool | None = None, extra_dict: dict[str, Any] | None = None, raw_link: bool | None = None,
                 advanced: bool | None = None) -> None:
        self.id, self.display_name, self.optional, self.tooltip, self.lazy = id, display_name, optional, tooltip, lazy
        self.extra_dict = extra_dict if extra_dict is not None else {}
        self.rawLink, self.advanced = raw_link, advanced

    def as_dict(self) -> dict[str, Any]:
        return prune_dict({"display_name": self.display_name, "optional": self.optional, "tooltip": self.tooltip,
                           "lazy": self.lazy, "rawLink": self.rawLink, "advanced": self.advanced}) \
            | prune_dict(self.extra_dict)

    def get_io_type(self) -> Any:
        return self.io_type

    def get_all(self) -> list[Input]:
        return [self]


class WidgetInput(Input):
    """An input with a widget (a value typed in the node) as well as, optionally, a socket."""

    def __init__(self, id: str, display_name: str | None = None, optional: bool = False, tooltip: str | None = None,
                 lazy: bool | None = None, default: Any = None, socketless: bool | None = None,
                 widget_type: str | None = None, force_input: bool | None = None,
                 extra_dict: dict[str, Any] | None = None, raw_link: bool | None = None,
                 advanced: bool | None = None) -> None:
        super().__init__(id, display_name, optional, tooltip, lazy, extra_dict, raw_link, advanced)
        self.default, self.socketless, self.widget_type, self.force_input = default, socketless, widget_type, \
            force_input

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | prune_dict({"default": self.default, "socketless": self.socketless,
                                               "widgetType": self.widget_type, "forceInput": self.force_input})

    def get_io_type(self) -> Any:
        return self.widget_type if self.widget_type is not None else super().get_io_type()


class Output(_IO_V3):
    """One output of a V3 node."""

    def __init__(self, id: str | None = None, display_name: str | None = None, tooltip: str | None = None,
                 is_output_list: bool = False) -> None:
        self.id, self.display_name = id, display_name if display_name else id
        self.tooltip, self.is_output_list = tooltip, is_output_list

    def as_dict(self) -> dict[str, Any]:
        return prune_dict({"display_name": self.display_name if self.display_name else self.id,
                           "tooltip": self.tooltip, "is_output_list": self.is_output_list})

    def get_io_type(self) -> Any:
        return self.io_type


class ComfyTypeI(_ComfyType):
    """A type with an Input class only."""

    class Input(Input):
        ...


class ComfyTypeIO(ComfyTypeI):
    """A type with Input and Output classes."""

    class Output(Output):
        ...


def add_to_dict_v1(i: Input, d: dict[str, Any]) -> None:
    """Put ``i`` into a V1 ``INPUT_TYPES`` dict: ``(type, options)`` under ``required`` or ``optional``."""
    options = i.as_dict()
    options.pop("optional", None)
    d.setdefault("optional" if i.optional else "required", {})[i.id] = (i.get_io_type(), options)


def create_input_dict_v1(inputs: list[Input]) -> dict[str, Any]:
    """The V1 ``INPUT_TYPES`` dict of a list of inputs (``required`` always present)."""
    rendered: dict[str, Any] = {"required": {}}
    for i in inputs:
        add_to_dict_v1(i, rendered)
    return rendered
