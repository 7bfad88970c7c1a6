from __future__ import annotations

import pytest

from inkgraph.nodes.diffusion.prompt_weights import parse_weights


@pytest.mark.parametrize("text,expected", [
    ("a cat", [("a cat", 1.0)]),
    ("a (cat:1.5) sat", [("a ", 1.0), ("cat", 1.5), (" sat", 1.0)]),
    ("(cat)", [("cat", 1.1)]),
    ("((cat))", [("cat", pytest.approx(1.21))]),
    ("[cat]", [("cat", pytest.approx(1 / 1.1))]),
    ("(a (b:1.5) c)", [("a ", 1.1), ("b", 1.5), (" c", 1.1)]),
    ("(a:0.5) (b:0.5)", [("a", 0.5), (" ", 1.0), ("b", 0.5)]),
    (r"a \(literal\) b", [("a (literal) b", 1.0)]),
    ("a (b", [("a (b", 1.0)]),
    ("(time: 12:30)", [("time: 12", 30.0)]),  # the last colon takes the weight, as in ComfyUI
    ("(ratio:nope)", [("ratio:nope", 1.1)]),
    ("", []),
])
def test_parse(text: str, expected: list) -> None:
    assert parse_weights(text) == expected
