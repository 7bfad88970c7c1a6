"""JSON that the server accepts, stores and sends back: finite numbers, bounded nesting, valid Unicode.

Python's ``json`` module is lenient where browsers are not and recursive where attackers are patient:

- it reads and writes ``NaN``/``Infinity`` (and turns ``1e999`` into infinity), which ``JSON.parse`` refuses,
  so one such number in a stored prompt made ``/queue`` and ``/history`` unreadable for the frontend;
- it recurses once per nesting level, so a value nested ~1,000 deep raises ``RecursionError`` on reading or
  on writing it back, and a stored one broke every route that lists it;
- a ``\\ud800`` escape decodes to a lone surrogate, which SQLite, file names and headers cannot encode.

:func:`loads` is the one way request JSON becomes Python values, and :func:`problem` the one check for values
that did not come through it. :func:`stored` serialises what the queue writes, so that whatever gets stored
can always be read back and sent to a browser.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

log = logging.getLogger(__name__)

MAX_DEPTH = 100  # request bodies: far above any workflow (about 12 levels), far below Python's recursion limit
STORED_DEPTH = 128  # a stored entry wraps a request's values a few levels deeper
TOO_DEEP = "[nested too deeply to keep]"


class JSONRejected(ValueError):
    """A JSON text or value that the server will not take; the message says why, for a 400."""


def _refuse_constant(name: str) -> Any:
    raise JSONRejected(f"{name} is not a number JSON allows; numbers must be finite")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONRejected(f"{text[:40]} is out of range; numbers must be finite")
    return value


def _lone_surrogate(text: str) -> bool:
    if text.isascii():  # O(1) in CPython: the common case costs nothing
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def problem(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """Why ``value`` cannot be stored and sent as JSON, or None. Iterative: any depth is safe to ask about."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > max_depth:
                return f"it is nested more than {max_depth} levels deep"
            for key, child in item.items():
                if isinstance(key, str) and _lone_surrogate(key):
                    return "a key has an unpaired surrogate (not valid Unicode)"
                stack.append((child, depth + 1))
        elif isinstance(item, (list, tuple)):
            if depth > max_depth:
                return f"it is nested more than {max_depth} levels deep"
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if _lone_surrogate(item):
                return "a string has an unpaired surrogate (not valid Unicode)"
        elif isinstance(item, float) and not math.isfinite(item):
            return f"{item} is not a finite number"
    return None


def loads(data: str | bytes | bytearray, max_depth: int = MAX_DEPTH) -> Any:
    """Parse request JSON; :class:`JSONRejected` (a ValueError) for anything :func:`problem` would refuse."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise JSONRejected(f"it is nested more than {max_depth} levels deep") from None
    except JSONRejected:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer with too many digits
        raise JSONRejected(f"it is not valid JSON: {exc}") from None
    reason = problem(value, max_depth)
    if reason is not None:
        raise JSONRejected(reason)
    return value


def sanitized(value: Any, max_depth: int = STORED_DEPTH, _depth: int = 1) -> Any:
    """A copy that :func:`problem` accepts: non-finite numbers become null, what lies deeper than
    ``max_depth`` becomes a marker string, lone surrogates are replaced, other objects become their text.
    Recursion stops at ``max_depth``, so this is safe on any input."""
    if isinstance(value, dict):
        if _depth > max_depth:
            return TOO_DEEP
        return {sanitized(str(k), max_depth, _depth): sanitized(v, max_depth, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if _depth > max_depth:
            return TOO_DEEP
        return [sanitized(v, max_depth, _depth + 1) for v in value]
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8") if _lone_surrogate(value) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int)):
        return value
    return str(value)


def stored(value: Any, what: str = "value") -> str:
    """JSON text for the database that always reads back and parses in a browser; values that would not are
    sanitized (and logged), never refused: by the time something is stored it has already happened."""
    reason = problem(value, STORED_DEPTH)
    if reason is None:
        try:
            return json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            reason = str(exc)
    log.warning("%s could not be stored as it was (%s); storing a sanitized copy", what, reason)
    return json.dumps(sanitized(value), allow_nan=False)


def stored_loads(text: str) -> Any:
    """Read back what :func:`stored` wrote (older rows may hold ``Infinity``: read as null). Raises ValueError
    (or RecursionError for rows from before the bounds) for a row that cannot be read."""
    return json.loads(text, parse_constant=lambda name: None)
