"""The native authoring API: signatures become specs, and broken declarations fail at decoration."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest

from inkgraph.engine import (
    CachePolicy,
    Context,
    Float,
    Hidden,
    Image,
    Int,
    Mask,
    NodeOutput,
    Output,
    Socket,
    String,
    node,
    spec_of,
)
from inkgraph.engine.core.spec import SpecError


def test_signature_becomes_spec() -> None:
    @node(category="test", display_name="Sample Thing", version="2.1.0")
    def Sample(
        ctx: Context,
        image: Image,
        steps: Annotated[int, Int(min=1, max=10000, tooltip="How many.")] = 20,
        cfg: Annotated[float, Float(min=0.0, max=100.0, step=0.1, round=0.01)] = 8.0,
        mode: Literal["a", "b"] = "b",
        text: Annotated[str, String(multiline=True)] = "",
        flag: bool = True,
        mask: Mask = None,
        prompt: Annotated[dict, Hidden("PROMPT")] = None,
    ) -> tuple[Image, Annotated[Any, Socket(type="MASK"), Output(name="the_mask", tooltip="t")]]:
        """Does a thing.

        With detail."""
        return image, mask

    spec = spec_of(Sample)
    assert spec.class_type == "Sample" and spec.display_name == "Sample Thing" and spec.version == "2.1.0"
    assert spec.description == "Does a thing.\n\nWith detail."
    assert [(i.name, i.type, i.optional) for i in spec.inputs] == [
        ("image", "IMAGE", False), ("steps", "INT", False), ("cfg", "FLOAT", False), ("mode", "COMBO", False),
        ("text", "STRING", False), ("flag", "BOOLEAN", False), ("mask", "MASK", True)]
    steps = spec.input("steps")
    assert steps.default == 20 and steps.min == 1 and steps.max == 10000 and steps.tooltip == "How many."
    assert spec.input("mode").choices == ("a", "b") and spec.input("mode").default == "b"
    assert spec.input("text").multiline is True
    assert spec.hidden == {"prompt": "PROMPT"}
    assert [(o.type, o.name, o.tooltip) for o in spec.outputs] == [("IMAGE", "IMAGE", None),
                                                                   ("MASK", "the_mask", "t")]
    assert Sample(None, image=1, mask=2) == (1, 2)  # the function stays a plain function


def test_keyword_only_parameters_keep_declaration_order() -> None:
    @node()
    def KwOnly(a: int = 1, *, b: Literal["x", "y"], c: int = 3) -> int:
        return a

    spec = spec_of(KwOnly)
    assert [i.name for i in spec.inputs] == ["a", "b", "c"]
    assert spec.input("b").default is None


def test_class_node_with_hooks() -> None:
    @node(category="test", cache=CachePolicy.ALWAYS_RUN)
    class Stateful:
        """A class node."""

        def execute(self, value: int = 0) -> int:
            return value

        @staticmethod
        def fingerprint(value: int) -> str:
            return str(value)

        @staticmethod
        def validate(value: int) -> bool | str:
            return value >= 0 or "negative"

    spec = spec_of(Stateful)
    assert spec.has_fingerprint and spec.has_custom_validation and spec.custom_validated == {"value"}
    assert spec.cache_policy is CachePolicy.ALWAYS_RUN
    assert spec.impl.validate({"value": -1}, None, None) == "negative"
    instance = spec.impl.create_instance()
    assert spec.impl.execute(instance, None, {"value": 4}).result == (4,)


def test_node_output_needs_declared_outputs() -> None:
    with pytest.raises(SpecError, match="declare its outputs"):
        @node()
        def NoOutputs(x: int = 0) -> NodeOutput:
            return NodeOutput()


def test_missing_annotation_is_rejected() -> None:
    with pytest.raises(SpecError, match="has no type annotation"):
        @node()
        def Untyped(x) -> int:  # type: ignore[no-untyped-def]
            return 1


def test_unknown_parameter_type_is_rejected() -> None:
    with pytest.raises(SpecError, match="needs a type"):
        @node()
        def Weird(x: list) -> int:  # type: ignore[type-arg]
            return 1


def test_lazy_input_needs_a_lazy_check() -> None:
    with pytest.raises(SpecError, match="check_lazy"):
        @node()
        def Lazy(a: Annotated[Any, Socket(type="X", lazy=True)] = None) -> int:
            return 1


def test_min_above_max_is_rejected() -> None:
    with pytest.raises(SpecError, match="above max"):
        @node()
        def Bad(a: Annotated[int, Int(min=5, max=1)] = 3) -> int:
            return a


def test_wrong_result_arity_is_a_clear_error() -> None:
    @node()
    def Two(a: int = 1) -> tuple[int, int]:
        return (a,)  # type: ignore[return-value]

    with pytest.raises(TypeError, match="returned 1 value"):
        spec_of(Two).impl.execute(None, None, {"a": 1})


def test_spec_of_rejects_plain_functions() -> None:
    with pytest.raises(SpecError):
        spec_of(lambda: 1)
