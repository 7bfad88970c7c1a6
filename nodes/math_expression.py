"""ComfyUI's Math Expression node: a formula over named number inputs, evaluated safely.

ComfyUI evaluates with the ``simpleeval`` package; this module walks Python's own AST with the same
whitelist instead (numbers, names, arithmetic, bitwise and comparison operators, ``and``/``or``/``not``,
``x if c else y``, indexing, list literals, and the listed functions), so user text can never reach
``eval``, attributes or imports.
"""

from __future__ import annotations

import ast
import math
import operator
import string
from collections.abc import Callable
from typing import Annotated, Any

from inkgraph.engine import Autogrow, Output, Socket, String, input_spec, node

MAX_EXPONENT = 4000  # pow(): ComfyUI's cap
MAX_POWER = 4_000_000  # the ** operator: simpleeval's cap
MAX_SHIFT = 10_000


class ExpressionError(ValueError):
    """The expression cannot be evaluated; the message says why."""


def _variadic_sum(*args: Any) -> Any:
    """sum(values) and sum(a, b, c) both work."""
    if len(args) == 1 and hasattr(args[0], "__iter__"):
        return sum(args[0])
    return sum(args)


def _safe_pow(base: Any, exp: Any) -> Any:
    if abs(exp) > MAX_EXPONENT:
        raise ExpressionError(f"Exponent {exp} exceeds maximum allowed ({MAX_EXPONENT})")
    return pow(base, exp)


def _power(base: Any, exp: Any) -> Any:
    if abs(exp) > MAX_POWER:
        raise ExpressionError(f"Exponent {exp} exceeds maximum allowed ({MAX_POWER})")
    return base ** exp


def _shift(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def shifted(a: Any, b: Any) -> Any:
        if abs(b) > MAX_SHIFT:
            raise ExpressionError(f"Shift by {b} exceeds maximum allowed ({MAX_SHIFT})")
        return fn(a, b)
    return shifted


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sum": _variadic_sum, "min": min, "max": max, "abs": abs, "round": round, "pow": _safe_pow,
    "sqrt": math.sqrt, "ceil": math.ceil, "floor": math.floor, "log": math.log, "log2": math.log2,
    "log10": math.log10, "sin": math.sin, "cos": math.cos, "tan": math.tan, "int": int, "float": float,
}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: _power,
    ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor,
    ast.LShift: _shift(operator.lshift), ast.RShift: _shift(operator.rshift),
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_, ast.Invert: operator.invert,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


def evaluate(expression: str, names: dict[str, Any]) -> Any:
    """The value of ``expression`` with ``names`` bound; ExpressionError for anything not allowed."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"invalid syntax: {exc.msg}") from None
    return _eval(tree.body, names)


def _eval(node: ast.AST, names: dict[str, Any]) -> Any:  # noqa: PLR0911 - one branch per syntax form
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool, str)):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        raise ExpressionError(f"'{node.id}' is not defined (connect an input with that name)")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_eval(node.left, names), _eval(node.right, names))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand, names))
    if isinstance(node, ast.BoolOp):
        value: Any = None
        for operand in node.values:
            value = _eval(operand, names)
            if isinstance(node.op, ast.And) and not value or isinstance(node.op, ast.Or) and value:
                return value
        return value
    if isinstance(node, ast.Compare):
        left = _eval(node.left, names)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            if type(op) not in _COMPARE:
                raise ExpressionError(f"operator {type(op).__name__} is not allowed")
            right = _eval(right_node, names)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, names) else node.orelse, names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        function = FUNCTIONS.get(node.func.id)
        if function is None:
            raise ExpressionError(f"function '{node.func.id}' is not available; use one of {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise ExpressionError("functions take positional arguments only")
        return function(*[_eval(arg, names) for arg in node.args])
    if isinstance(node, ast.Subscript):
        return _eval(node.value, names)[_eval(node.slice, names)]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_eval(item, names) for item in node.elts]
    raise ExpressionError(f"{type(node).__name__} is not allowed in an expression")


_VALUE = input_spec("value", Annotated[Any, Socket(type="FLOAT,INT,BOOLEAN")])


@node(display_name="Math Expression", category="utilities")
def ComfyMathExpression(
    expression: Annotated[str, String(multiline=True)] = "a + b",
    *,
    values: Annotated[dict[str, Any], Autogrow(_VALUE, names=list(string.ascii_lowercase), min=1)],
) -> tuple[Annotated[float, Output("FLOAT")], Annotated[int, Output("INT")], Annotated[bool, Output("BOOL")]]:
    """Evaluates a formula over the connected inputs a, b, c … ("values" is the list of them all):
    + − × ÷ // % **, bitwise & | ^ << >> ~, comparisons, and/or/not, x if c else y, and sum, min, max,
    abs, round, pow, sqrt, ceil, floor, log, log2, log10, sin, cos, tan, int, float."""
    if not expression.strip():
        raise ValueError("ComfyMathExpression: input 'expression' cannot be empty.")
    names: dict[str, Any] = dict(values)
    names["values"] = list(values.values())
    try:
        result = evaluate(expression, names)
    except (ExpressionError, ArithmeticError, TypeError, ValueError, IndexError, KeyError) as exc:
        raise ValueError(f"ComfyMathExpression: input 'expression' {expression!r} failed: {exc}") from exc
    if not isinstance(result, (int, float)):
        raise ValueError(f"ComfyMathExpression: input 'expression' {expression!r} must evaluate to a number, "
                         f"got {type(result).__name__}: {result!r}")
    try:
        as_float = float(result)
    except OverflowError:
        raise ValueError(f"ComfyMathExpression: {expression!r} produced a result too large to represent as a "
                         f"float: {result}") from None
    if not math.isfinite(as_float):
        raise ValueError(f"ComfyMathExpression: {expression!r} produced a non-finite result: {result}")
    return as_float, int(result), bool(result)


NODES = [ComfyMathExpression]
