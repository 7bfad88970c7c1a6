"""The one internal description of a node type.

Every front door (the native typed API in :mod:`engine.api`, the ComfyUI V1 class adapter) produces a
:class:`NodeSpec`; validation, scheduling, caching and ``/object_info`` read nothing else. Keeping one
representation is what lets a native node and a ComfyUI node look identical to every client.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from .paths import Folders

# ComfyUI's value types that get a widget in the canvas; every other type string is a socket.
WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
# Types ComfyUI's frontend draws as widgets of its own (an image-compare slider, a box editor, a colour
# picker …): their values come from the canvas, so a prompt carries them as constants of any JSON shape.
FRONTEND_WIDGET_TYPES = frozenset({"IMAGECOMPARE", "BOUNDING_BOX", "BOUNDING_BOXES", "COLOR", "MARKDOWN",
                                   "IMAGEUPLOAD", "CHART", "GALLERIA", "PAINTER", "CURVE"})
# ComfyUI's V3 dynamic input types (see :mod:`.dynamic`): one declared input that stands for a
# varying set of inputs, or a socket whose type follows what is connected.
AUTOGROW = "COMFY_AUTOGROW_V3"
DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"
MATCHTYPE = "COMFY_MATCHTYPE_V3"

HIDDEN_KINDS = frozenset(
    {"PROMPT", "EXTRA_PNGINFO", "UNIQUE_ID", "DYNPROMPT", "AUTH_TOKEN_COMFY_ORG", "API_KEY_COMFY_ORG"}
)


class CachePolicy(StrEnum):
    """How the executor treats a node's results across prompts."""

    NORMAL = "normal"
    ALWAYS_RUN = "always_run"  # non-deterministic: re-run every prompt, so its descendants re-run too
    NEVER_CACHE = "never_cache"  # results too big or too volatile to keep; recomputed when needed


class InputSpec(BaseModel):
    """One declared input: a socket (``IMAGE``) or a widget (``INT``, ``COMBO`` …) with its options.

    Field names are Pythonic; :meth:`options_dict` renders them under ComfyUI's option keys.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    name: str
    type: str
    optional: bool = False
    default: Any = None
    min: int | float | None = None
    max: int | float | None = None
    step: int | float | None = None
    round: int | float | bool | None = None
    display: str | None = None
    multiline: bool | None = None
    placeholder: str | None = None
    dynamic_prompts: bool | None = None
    label_on: str | None = None
    label_off: str | None = None
    choices: tuple[Any, ...] | None = None
    # Choices that depend on the folders (files in input/, models/…), listed when asked.
    choices_provider: Callable[[Folders], Sequence[Any]] | None = None
    image_upload: bool | None = None
    control_after_generate: bool | str | None = None
    force_input: bool = False
    lazy: bool = False
    raw_link: bool = False
    tooltip: str | None = None
    # Option keys we do not model (plugins invent their own); rendered verbatim after ours.
    extra: dict[str, Any] = Field(default_factory=dict)
    # "list" renders a combo as ComfyUI core nodes do, [[choices], {opts}]; "COMBO" as ["COMBO", {"options"}].
    combo_style: Literal["list", "COMBO"] = "list"
    # A ComfyUI pack may declare a required input in ``optional`` too: ComfyUI treats it as required and
    # lists both declarations in object_info; the optional one is kept here for that listing.
    optional_twin: InputSpec | None = None

    @property
    def is_combo(self) -> bool:
        return self.type == "COMBO"

    @property
    def widget_type(self) -> str:
        """The widget a type is drawn as: ``"INT:seed"`` (a widget type with a flavour after a colon, which
        ComfyUI's frontend draws as that widget — ComfyUI_essentials' seeds) is an INT; others are themselves."""
        base, colon, _ = self.type.partition(":")
        return base if colon and base in WIDGET_TYPES else self.type

    @property
    def is_widget(self) -> bool:
        """The canvas draws a widget for it (so a UI workflow's ``widgets_values`` holds its value)."""
        return ((self.widget_type in WIDGET_TYPES or self.is_frontend_widget or self.type == DYNAMIC_COMBO)
                and not self.force_input)

    @property
    def is_frontend_widget(self) -> bool:
        """A widget only ComfyUI's frontend knows how to draw; its value is taken as it comes."""
        return self.type in FRONTEND_WIDGET_TYPES or bool(self.extra.get("socketless"))

    def current_choices(self, folders: Folders | None) -> list[Any]:
        """The combo's options now; providers (file listings) are asked each time."""
        if self.choices_provider is not None:
            return list(self.choices_provider(folders)) if folders is not None else []
        return list(self.choices or ())

    def widget_default(self) -> Any:
        """The value a new widget for this input starts with in ComfyUI's frontend: the declared default,
        else 0 (within min/max) for numbers, "" for text, false for a toggle, a combo's first fixed choice.
        None when it cannot be known here (a combo listing files, with no default)."""
        if self.default is not None:
            return self.default
        if self.type in ("INT", "FLOAT"):
            value: int | float = 0 if self.type == "INT" else 0.0
            if self.min is not None and value < self.min:
                value = self.min
            if self.max is not None and value > self.max:
                value = self.max
            return value
        if self.type == "STRING":
            return ""
        if self.type == "BOOLEAN":
            return False
        if self.is_combo and self.choices:
            return self.choices[0]
        return None

    def options_dict(self) -> dict[str, Any]:
        """The options object of ``/object_info`` in ComfyUI's key names and order."""
        opts: dict[str, Any] = {}
        if self.default is not None:
            opts["default"] = self.default
        for key, value in (
            ("min", self.min),
            ("max", self.max),
            ("step", self.step),
            ("round", self.round),
            ("display", self.display),
            ("multiline", self.multiline),
            ("placeholder", self.placeholder),
            ("dynamicPrompts", self.dynamic_prompts),
            ("label_on", self.label_on),
            ("label_off", self.label_off),
            ("image_upload", self.image_upload),
            ("control_after_generate", self.control_after_generate),
        ):
            if value is not None:
                opts[key] = value
        if self.force_input:
            opts["forceInput"] = True
        if self.lazy:
            opts["lazy"] = True
        if self.raw_link:
            opts["rawLink"] = True
        opts.update(self.extra)
        if self.tooltip is not None:
            opts["tooltip"] = self.tooltip
        return opts

    def input_config(self, folders: Folders | None, choices: list[Any] | None = None) -> list[Any]:
        """``[type, options]`` as ComfyUI puts it in object_info and in validation errors."""
        opts = self.options_dict()
        if self.is_combo:
            if choices is None:
                choices = self.current_choices(folders)
            if self.combo_style == "COMBO":
                return ["COMBO", {**opts, "options": choices}]
            return [choices, opts] if opts else [choices]
        return [self.type, opts] if opts else [self.type]


class OutputSpec(BaseModel):
    """One output socket. ``type`` may be a list of strings for a node that outputs combo choices."""

    model_config = ConfigDict(frozen=True)

    type: str | tuple[str, ...]
    name: str
    is_list: bool = False
    tooltip: str | None = None
    # For a COMFY_MATCHTYPE_V3 output: the template whose connected input type it takes
    # (``output_matchtypes`` in /object_info).
    matchtype: str | None = None


class NodeImpl(Protocol):
    """What the executor calls. The native API and the ComfyUI adapter each provide one.

    An implementation may set ``wants_context = False`` when its nodes never read the context; the
    executor then does not build one for each call.
    """

    def create_instance(self) -> Any:
        """A per-(node id, class) object, reused across prompts as ComfyUI does."""

    def execute(self, instance: Any, ctx: Any, inputs: dict[str, Any]) -> Any:
        """Run once on one slice of inputs (or on whole lists for ``input_is_list`` nodes).

        Returns a :class:`engine.results.NodeResult` (or something the result normaliser accepts).
        """

    def check_lazy_status(self, instance: Any, ctx: Any, inputs: dict[str, Any]) -> list[str] | None:
        """Names of lazy inputs still needed, given the inputs available so far (missing ones are None)."""

    def fingerprint(self, constants: dict[str, Any], folders: Folders | None) -> Any:
        """ComfyUI's IS_CHANGED: a value that changes when the node's result would."""

    def validate(self, constants: dict[str, Any], input_types: dict[str, Any] | None,
                 folders: Folders | None) -> bool | str:
        """ComfyUI's VALIDATE_INPUTS: True, or a message saying what is wrong."""


@dataclass(frozen=True)
class Allocation:
    """What a node that makes a tensor from nothing (an empty image, latent or mask) will allocate, known
    from its constants before it runs: validation refuses a request beyond the server's budget
    (``--max-batch-pixels``) instead of letting it reach the allocator and the OOM killer."""

    inputs: tuple[str, ...]  # INT inputs whose product is the pixel count: width, height, batch_size (, length)
    bytes_per_pixel: float  # of the tensor made: 12 for an RGB float32 image, 0.25 for a 4-channel /8 latent

    def pixels(self, constants: dict[str, Any]) -> int | None:
        """The pixel count, or None while any of the inputs is linked (known only when the graph runs)."""
        count = 1
        for name in self.inputs:
            value = constants.get(name)
            if not isinstance(value, int):
                return None
            count *= value
        return count


class NodeSpec(BaseModel):
    """A node type: identity, user-facing text, typed inputs and outputs, behaviour flags, implementation."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    class_type: str
    display_name: str
    category: str = "utils"
    description: str = ""
    version: str = "1.0.0"
    inputs: tuple[InputSpec, ...] = ()
    hidden: dict[str, str] = Field(default_factory=dict)
    outputs: tuple[OutputSpec, ...] = ()
    output_node: bool = False
    input_is_list: bool = False
    cache_policy: CachePolicy = CachePolicy.NORMAL
    not_idempotent: bool = False
    deprecated: bool = False
    experimental: bool = False
    python_module: str = "nodes"
    accepts_extra_inputs: bool = False
    # ComfyUI V3's ``accept_all_inputs``: undeclared constants reach the node too (not only links).
    accepts_all_inputs: bool = False
    has_lazy_check: bool = False
    has_fingerprint: bool = False
    # Inputs a custom validator checks itself (built-in min/max/choice checks are skipped for them).
    custom_validated: frozenset[str] = frozenset()
    custom_validates_all: bool = False
    has_custom_validation: bool = False
    wants_input_types: bool = False
    allocation: Allocation | None = None
    impl: Any = Field(default=None, exclude=True, repr=False)
    # ComfyUI V3 nodes appear in object_info as their own schema renders them (more fields than V1 nodes);
    # the V3 adapter sets this to that rendering, given the folders combo listings are read from.
    info: Callable[[Folders | None], dict[str, Any]] | None = Field(default=None, exclude=True, repr=False)
    @cached_property
    def input_index(self) -> tuple[tuple[InputSpec, ...], dict[str, InputSpec], frozenset[str], bool]:
        """(inputs, by name, lazy names, any list output), built once: asked for every node of a prompt."""
        return (self.inputs, {i.name: i for i in self.inputs}, frozenset(i.name for i in self.inputs if i.lazy),
                any(o.is_list for o in self.outputs))

    def _index(self) -> tuple[tuple[InputSpec, ...], dict[str, InputSpec], frozenset[str], bool]:
        index = self.input_index
        if index[0] is not self.inputs:  # model_copy(update=...) carried over a stale cache
            del self.__dict__["input_index"]
            index = self.input_index
        return index

    def input(self, name: str) -> InputSpec | None:
        return self._index()[1].get(name)

    @property
    def lazy_inputs(self) -> frozenset[str]:
        return self._index()[2]

    @property
    def has_list_outputs(self) -> bool:
        return self._index()[3]

    @property
    def keyed_by_node_id(self) -> bool:
        """ComfyUI puts the node id into the cache key of non-idempotent nodes and of UNIQUE_ID users."""
        return self.not_idempotent or "UNIQUE_ID" in self.hidden.values()


class SpecError(ValueError):
    """A node declaration is inconsistent; raised at registration so it never reaches a user's graph."""


def check_spec(spec: NodeSpec) -> None:
    """Reject declarations that would only fail later, deep inside a run."""
    names = [i.name for i in spec.inputs] + list(spec.hidden)
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SpecError(f"{spec.class_type}: input names declared twice: {sorted(duplicates)}")
    for kind in spec.hidden.values():
        if kind not in HIDDEN_KINDS:
            raise SpecError(f"{spec.class_type}: unknown hidden input kind {kind!r}")
    for inp in spec.inputs:
        if inp.min is not None and inp.max is not None and inp.min > inp.max:
            raise SpecError(f"{spec.class_type}.{inp.name}: min {inp.min} is above max {inp.max}")
        if inp.is_combo and inp.choices is None and inp.choices_provider is None:
            raise SpecError(f"{spec.class_type}.{inp.name}: a COMBO input needs choices")
        if isinstance(inp.default, float) and math.isnan(inp.default):
            raise SpecError(f"{spec.class_type}.{inp.name}: default is NaN")
    for name in spec.allocation.inputs if spec.allocation is not None else ():
        declared = spec.input(name)
        if declared is None or declared.type != "INT":
            raise SpecError(f"{spec.class_type}: allocation input {name!r} is not one of its INT inputs")


def types_compatible(received: str | tuple[str, ...] | list[str], expected: str | list[Any]) -> bool:
    """ComfyUI's socket rule: equal, either side ``*``, a choice list into a COMBO, or comma unions that
    share a member (``"INT,FLOAT"`` accepts ``"FLOAT"``)."""
    if isinstance(received, (tuple, list)):
        return expected in ("COMBO", "*", MATCHTYPE) or isinstance(expected, list)
    if MATCHTYPE in (received, expected):  # ComfyUI: a match-type socket takes (and gives) any type
        return True
    if isinstance(expected, list):
        return received in ("*", "COMBO")
    if received == expected or received == "*" or expected == "*":
        return True
    return bool(set(received.split(",")) & set(expected.split(",")))
