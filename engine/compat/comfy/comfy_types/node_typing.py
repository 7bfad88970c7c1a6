"""``comfy.comfy_types.node_typing``: ComfyUI's socket-type enum and the typed shapes of a V1 declaration.

``IO`` members compare as ComfyUI's socket rule does: ``"*"`` differs from nothing and a comma union
(``IO.NUMBER`` = ``"FLOAT,INT"``) equals any of its members, so packs can write ``IO.ANY`` or
``IO.NUMBER`` as a type and have it match.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import StrEnum as _StrEnum
from typing import Any, Literal, NotRequired, TypedDict


class StrEnum(_StrEnum):
    """A string enum whose ``str()`` is its value (ComfyUI's name for it, kept for packs that import it)."""


class IO(StrEnum):
    """Node input/output types, as strings."""

    STRING = "STRING"
    IMAGE = "IMAGE"
    MASK = "MASK"
    LATENT = "LATENT"
    BOOLEAN = "BOOLEAN"
    INT = "INT"
    FLOAT = "FLOAT"
    COMBO = "COMBO"
    CONDITIONING = "CONDITIONING"
    SAMPLER = "SAMPLER"
    SIGMAS = "SIGMAS"
    GUIDER = "GUIDER"
    NOISE = "NOISE"
    CLIP = "CLIP"
    CONTROL_NET = "CONTROL_NET"
    VAE = "VAE"
    MODEL = "MODEL"
    LORA_MODEL = "LORA_MODEL"
    LOSS_MAP = "LOSS_MAP"
    CLIP_VISION = "CLIP_VISION"
    CLIP_VISION_OUTPUT = "CLIP_VISION_OUTPUT"
    STYLE_MODEL = "STYLE_MODEL"
    GLIGEN = "GLIGEN"
    UPSCALE_MODEL = "UPSCALE_MODEL"
    AUDIO = "AUDIO"
    WEBCAM = "WEBCAM"
    POINT = "POINT"
    FACE_ANALYSIS = "FACE_ANALYSIS"
    BBOX = "BBOX"
    SEGS = "SEGS"
    VIDEO = "VIDEO"
    ANY = "*"
    NUMBER = "FLOAT,INT"
    PRIMITIVE = "STRING,FLOAT,INT,BOOLEAN"

    def __ne__(self, value: object) -> bool:
        if self == "*" or value == "*":
            return False
        if not isinstance(value, str):
            return True
        ours, theirs = frozenset(self.split(",")), frozenset(value.split(","))
        return not (ours <= theirs or theirs <= ours)

    __hash__ = str.__hash__


class RemoteInputOptions(TypedDict):
    route: str
    refresh: NotRequired[int]
    response_key: NotRequired[str]
    query_params: NotRequired[dict[str, str]]
    refresh_button: NotRequired[bool]
    control_after_refresh: NotRequired[Literal["first", "last"]]
    timeout: NotRequired[int]
    max_retries: NotRequired[int]


class MultiSelectOptions(TypedDict):
    placeholder: NotRequired[str]
    chip: NotRequired[bool]


class InputTypeOptions(TypedDict):
    """The options of one V1 input (ComfyUI's keys)."""

    default: NotRequired[Any]
    defaultInput: NotRequired[bool]
    forceInput: NotRequired[bool]
    lazy: NotRequired[bool]
    rawLink: NotRequired[bool]
    tooltip: NotRequired[str]
    min: NotRequired[float]
    max: NotRequired[float]
    step: NotRequired[float]
    round: NotRequired[float]
    label_on: NotRequired[str]
    label_off: NotRequired[str]
    multiline: NotRequired[bool]
    placeholder: NotRequired[str]
    dynamicPrompts: NotRequired[bool]
    image_upload: NotRequired[bool]
    image_folder: NotRequired[Literal["input", "output", "temp"]]
    remote: NotRequired[RemoteInputOptions]
    control_after_generate: NotRequired[bool]
    options: NotRequired[list[Any]]
    multi_select: NotRequired[MultiSelectOptions]


class HiddenInputTypeDict(TypedDict):
    node_id: NotRequired[Literal["UNIQUE_ID"]]
    unique_id: NotRequired[Literal["UNIQUE_ID"]]
    prompt: NotRequired[Literal["PROMPT"]]
    extra_pnginfo: NotRequired[Literal["EXTRA_PNGINFO"]]
    dynprompt: NotRequired[Literal["DYNPROMPT"]]


class InputTypeDict(TypedDict):
    """What a V1 node's ``INPUT_TYPES()`` returns."""

    required: NotRequired[dict[str, tuple[Any, InputTypeOptions]]]
    optional: NotRequired[dict[str, tuple[Any, InputTypeOptions]]]
    hidden: NotRequired[HiddenInputTypeDict]


class ComfyNodeABC(ABC):
    """A V1 node class with its attributes named (a base class packs may derive from)."""

    DESCRIPTION: str
    CATEGORY: str
    EXPERIMENTAL: bool
    DEPRECATED: bool
    API_NODE: bool | None

    @classmethod
    @abstractmethod
    def INPUT_TYPES(cls) -> InputTypeDict:
        """The node's inputs."""

    OUTPUT_NODE: bool
    INPUT_IS_LIST: bool
    OUTPUT_IS_LIST: tuple[bool, ...]
    RETURN_TYPES: tuple[Any, ...]
    RETURN_NAMES: tuple[str, ...]
    OUTPUT_TOOLTIPS: tuple[str, ...]
    FUNCTION: str


class CheckLazyMixin:
    """A ``check_lazy_status`` that asks for every input not yet evaluated."""

    def check_lazy_status(self, **kwargs: Any) -> list[str]:
        need = [name for name in kwargs if kwargs[name] is None]
        return need


class FileLocator(TypedDict):
    """Where a file a node produced is: what ``ui`` outputs list."""

    filename: str
    subfolder: str
    type: Literal["input", "output", "temp"]
