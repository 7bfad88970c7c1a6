"""Text nodes: concatenate, slice, measure, change case, trim, replace, search, compare, regular
expressions, JSON lookup (ComfyUI's ``nodes_string``).

Behaviour is Python's own string and ``re`` semantics, exactly as ComfyUI's nodes use them, so a workflow
gives the same text here as there.
"""

from __future__ import annotations

import json
import re
import string as ascii_names
from typing import Annotated, Any, Literal

from inkgraph.engine import Autogrow, Boolean, Int, Output, Socket, String, input_spec, node

Text = Annotated[str, String(multiline=True)]
Line = Annotated[str, String(multiline=False)]


@node(display_name="Concatenate", category="utils/string")
def StringConcatenate(string_a: Text, string_b: Text, delimiter: Line = "") -> str:
    """string_a + delimiter + string_b."""
    return delimiter.join((string_a, string_b))


@node(display_name="Substring", category="utils/string")
def StringSubstring(string: Text, start: int, end: int) -> str:
    """``string[start:end]`` (Python slicing: negative positions count from the end)."""
    return string[start:end]


@node(display_name="Length", category="utils/string")
def StringLength(string: Text) -> Annotated[int, Output("length")]:
    """The number of characters (code points)."""
    return len(string)


@node(display_name="Case Converter", category="utils/string")
def CaseConverter(string: Text, *, mode: Literal["UPPERCASE", "lowercase", "Capitalize", "Title Case"]) -> str:
    """Python's upper(), lower(), capitalize() or title()."""
    converters = {"UPPERCASE": str.upper, "lowercase": str.lower, "Capitalize": str.capitalize,
                  "Title Case": str.title}
    return converters[mode](string)


@node(display_name="Trim", category="utils/string")
def StringTrim(string: Text, *, mode: Literal["Both", "Left", "Right"]) -> str:
    """Removes leading and/or trailing whitespace."""
    trims = {"Both": str.strip, "Left": str.lstrip, "Right": str.rstrip}
    return trims[mode](string)


@node(display_name="Replace", category="utils/string")
def StringReplace(string: Text, find: Text, replace: Text) -> str:
    """Replaces every occurrence of ``find`` (plain text, not a pattern)."""
    return string.replace(find, replace)


@node(display_name="Contains", category="utils/string")
def StringContains(string: Text, substring: Text,
                   case_sensitive: Annotated[bool, Boolean()] = True) -> Annotated[bool, Output("contains")]:
    """Whether ``substring`` occurs in ``string``."""
    if case_sensitive:
        return substring in string
    return substring.lower() in string.lower()


@node(display_name="Compare", category="utils/string")
def StringCompare(string_a: Text, string_b: Text, *, mode: Literal["Starts With", "Ends With", "Equal"],
                  case_sensitive: Annotated[bool, Boolean()] = True) -> bool:
    """Whether string_a starts with, ends with or equals string_b."""
    if not case_sensitive:
        string_a, string_b = string_a.lower(), string_b.lower()
    if mode == "Starts With":
        return string_a.startswith(string_b)
    if mode == "Ends With":
        return string_a.endswith(string_b)
    return string_a == string_b


def regex_flags(case_insensitive: bool, multiline: bool, dotall: bool) -> int:
    flags = 0
    if case_insensitive:
        flags |= re.IGNORECASE
    if multiline:
        flags |= re.MULTILINE
    if dotall:
        flags |= re.DOTALL
    return flags


@node(display_name="Regex Match", category="utils/string")
def RegexMatch(string: Text, regex_pattern: Text, case_insensitive: Annotated[bool, Boolean()] = True,
               multiline: Annotated[bool, Boolean()] = False,
               dotall: Annotated[bool, Boolean()] = False) -> Annotated[bool, Output("matches")]:
    """Whether the pattern matches anywhere (``re.search``); an invalid pattern gives false, as in ComfyUI."""
    try:
        return re.search(regex_pattern, string, regex_flags(case_insensitive, multiline, dotall)) is not None
    except re.error:
        return False


@node(display_name="Regex Extract", category="utils/string")
def RegexExtract(
    string: Text,
    regex_pattern: Text,
    *,
    mode: Literal["First Match", "All Matches", "First Group", "All Groups"],
    case_insensitive: Annotated[bool, Boolean()] = True,
    multiline: Annotated[bool, Boolean()] = False,
    dotall: Annotated[bool, Boolean()] = False,
    group_index: Annotated[int, Int(min=0, max=100)] = 1,
) -> str:
    """The first match, all matches (one per line), or group ``group_index`` of the first or of every match.

    "All Matches" with groups in the pattern lists each match's first group (``re.findall``'s tuples);
    an invalid pattern or a missing group gives an empty string, as in ComfyUI.
    """
    flags = regex_flags(case_insensitive, multiline, dotall)
    try:
        if mode == "First Match":
            found = re.search(regex_pattern, string, flags)
            return found.group(0) if found else ""
        if mode == "All Matches":
            matches = re.findall(regex_pattern, string, flags)
            return "\n".join(m[0] if isinstance(m, tuple) else m for m in matches)
        if mode == "First Group":
            found = re.search(regex_pattern, string, flags)
            if found and len(found.groups()) >= group_index:
                return found.group(group_index) or ""
            return ""
        results = [m.group(group_index) or "" for m in re.finditer(regex_pattern, string, flags)
                   if m.groups() and len(m.groups()) >= group_index]
        return "\n".join(results)
    except re.error:
        return ""


@node(display_name="Regex Replace", category="utils/string",
      description="Find and replace text using regex patterns.")
def RegexReplace(
    string: Text,
    regex_pattern: Text,
    replace: Text,
    case_insensitive: Annotated[bool, Boolean(optional=True)] = True,
    multiline: Annotated[bool, Boolean(optional=True)] = False,
    dotall: Annotated[bool, Boolean(optional=True, tooltip=(
        "When enabled, the dot (.) character will match any character including newline characters. "
        "When disabled, dots won't match newlines."))] = False,
    count: Annotated[int, Int(min=0, max=100, optional=True, tooltip=(
        "Maximum number of replacements to make. Set to 0 to replace all occurrences (default). Set to 1 to "
        "replace only the first match, 2 for the first two matches, etc."))] = 0,
) -> str:
    """``re.sub(regex_pattern, replace, string, count, flags)``."""
    try:
        return re.sub(regex_pattern, replace, string, count=count,
                      flags=regex_flags(case_insensitive, multiline, dotall))
    except re.error as exc:
        raise ValueError(f"RegexReplace: input 'regex_pattern' or 'replace' is not valid: {exc}") from exc


@node(display_name="Extract Text from JSON", category="text")
def JsonExtractString(json_string: Text, key: Line) -> str:
    """The value under ``key`` of a JSON object, as text; "" when the text is not an object, the key is
    missing or the value is null."""
    try:
        data = json.loads(json_string)
    except (json.JSONDecodeError, TypeError):
        return ""
    if isinstance(data, dict) and data.get(key) is not None:
        return str(data[key])
    return ""


@node(display_name="Format Text", category="text",
      description="Same as Python's string format method. Supports all of Python's format options and features.")
def StringFormat(
    values: Annotated[dict[str, Any], Autogrow(input_spec("value", Annotated[Any, Socket(type="*")]),
                                               names=list(ascii_names.ascii_lowercase), min=0)],
    f_string: Annotated[str, String(multiline=True)] = "{a}",
) -> str:
    try:
        return f_string.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"StringFormat: input 'f_string' {f_string!r} cannot be formatted with the connected "
                         f"values {sorted(values)}: {exc!r}") from exc


NODES = [StringFormat, StringConcatenate, StringSubstring, StringLength, CaseConverter, StringTrim, StringReplace,
         StringContains,
         StringCompare, RegexMatch, RegexExtract, RegexReplace, JsonExtractString]
