"""Prompt emphasis: ``(word:1.2)``, ``(word)`` ×1.1, ``[word]`` ÷1.1, nesting multiplies, ``\\(`` escapes.

``(a (b:1.5) c)`` gives a ×1.1, b ×1.5 (an explicit weight replaces the outer one, as in ComfyUI), c ×1.1.
Square brackets follow A1111 (ComfyUI keeps them as text); an unbalanced bracket is text.
"""

from __future__ import annotations

_OPEN = {"(": ")", "[": "]"}
_ESCAPES = {"\\(": "\x00\x01", "\\)": "\x00\x02", "\\[": "\x00\x03", "\\]": "\x00\x04"}


def _escape(text: str) -> str:
    for plain, code in _ESCAPES.items():
        text = text.replace(plain, code)
    return text


def _unescape(text: str) -> str:
    for plain, code in _ESCAPES.items():
        text = text.replace(code, plain[1])
    return text


def _split(text: str) -> list[str]:
    """Top-level pieces: plain runs and balanced ``(...)`` / ``[...]`` groups."""
    pieces: list[str] = []
    current = ""
    stack: list[str] = []
    for char in text:
        if char in _OPEN:
            if not stack and current:
                pieces.append(current)
                current = ""
            stack.append(_OPEN[char])
            current += char
        elif stack and char == stack[-1]:
            stack.pop()
            current += char
            if not stack:
                pieces.append(current)
                current = ""
        else:
            current += char
    if current:
        if stack:  # unbalanced: the opening bracket is text, the rest is parsed again
            pieces.append(current[0])
            pieces.extend(_split(current[1:]))
        else:
            pieces.append(current)
    return pieces


def _weights(text: str, weight: float) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for piece in _split(text):
        if len(piece) >= 2 and piece[0] == "(" and piece[-1] == ")":
            inner, inner_weight = piece[1:-1], weight * 1.1
            colon = inner.rfind(":")
            if colon > 0:
                try:
                    inner_weight = float(inner[colon + 1:])
                    inner = inner[:colon]
                except ValueError:
                    pass
            out.extend(_weights(inner, inner_weight))
        elif len(piece) >= 2 and piece[0] == "[" and piece[-1] == "]":
            out.extend(_weights(piece[1:-1], weight / 1.1))
        else:
            out.append((piece, weight))
    return out


def parse_weights(text: str) -> list[tuple[str, float]]:
    """Text → (fragment, weight) pairs in order; adjacent fragments of equal weight are merged."""
    merged: list[tuple[str, float]] = []
    for fragment, weight in _weights(_escape(text), 1.0):
        fragment = _unescape(fragment)
        if merged and abs(merged[-1][1] - weight) < 1e-9:
            merged[-1] = (merged[-1][0] + fragment, weight)
        elif fragment:
            merged.append((fragment, weight))
    return merged


def literal(text: str) -> str:
    """The prompt as plain text, for encoders that read no emphasis (ComfyUI's ``disable_weights``): brackets
    stay text, only their escapes (``\\(`` → ``(``) are resolved."""
    return _unescape(_escape(text))
