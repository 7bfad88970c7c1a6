"""Reading workflows for the command line, applying ``--set``, and reporting what was wrong with them."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.resources import workflows_folder

if TYPE_CHECKING:
    from ..core.executor import ExecutionOutcome
    from ..core.formats import Loaded
    from ..core.validation import ValidationResult
    from ..runtime import Runtime

EXIT_OK, EXIT_INVALID, EXIT_FAILED = 0, 1, 2


class CliError(Exception):
    """A user-facing problem with the command line or its files (exit code 1)."""


def example_workflow(name: str) -> Path | None:
    """An example workflow shipped with Inkgraph, by name (``txt2img`` or ``txt2img.json``)."""
    folder = workflows_folder()
    if folder is None or "/" in name or "\\" in name:
        return None
    for candidate in (name, f"{name}.json"):
        path = folder / candidate
        if path.suffix == ".json" and path.is_file():
            return path
    return None


def workflow_bytes(path: str) -> bytes:
    """The workflow file's bytes: a path, ``-`` for stdin, or the name of a shipped example."""
    if path == "-":
        return sys.stdin.buffer.read()
    file = Path(path)
    if not file.exists():
        example = example_workflow(path)
        if example is not None:
            return example.read_bytes()
    try:
        return file.read_bytes()
    except OSError as exc:
        folder = workflows_folder()
        names = sorted(p.stem for p in folder.glob("*.json") if not p.name.endswith(".ui.json")) if folder else []
        hint = f" (examples shipped with Inkgraph: {', '.join(names)})" if names and not file.exists() else ""
        raise CliError(f"cannot read {path}: {exc.strerror}{hint}") from exc


def load_workflow(path: str, spec_of: Callable[[str], Any]) -> Loaded:
    """Read a workflow: API prompt or POST /prompt body, UI workflow (converted), or a PNG/WebP with one."""
    from ..core.formats import FormatError, read_any

    content = workflow_bytes(path)
    try:
        loaded = read_any(content, spec_of)
    except FormatError as exc:
        raise CliError(f"{path}: {exc}") from exc
    for warning in loaded.warnings:
        print(f"inkgraph: {path}: {warning}", file=sys.stderr)
    return loaded


def apply_overrides(prompt: dict[str, Any], assignments: list[str]) -> None:
    """``--set 3.seed=42``: node ids may contain dots or colons, so the longest matching id wins."""
    for assignment in assignments:
        target, sep, raw = assignment.partition("=")
        if not sep:
            raise CliError(f"--set {assignment!r}: expected NODE_ID.INPUT=VALUE")
        matches = [n for n in prompt if target.startswith(f"{n}.") and len(target) > len(n) + 1]
        if not matches:
            raise CliError(f"--set {assignment!r}: no node id in the workflow matches {target!r}")
        node_id = max(matches, key=len)
        name = target[len(node_id) + 1:]
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        prompt[node_id].setdefault("inputs", {})[name] = value


def node_title(prompt: dict[str, Any], node_id: str) -> str | None:
    node = prompt.get(node_id)
    if not isinstance(node, dict):
        return None
    title = (node.get("_meta") or {}).get("title") if isinstance(node.get("_meta"), dict) else None
    return str(title) if title else None


def node_labels(prompt: dict[str, Any]) -> dict[str, str]:
    """node id → what to call it in messages: its title, else its class."""
    labels = {}
    for node_id, node in prompt.items():
        if isinstance(node, dict):
            labels[node_id] = node_title(prompt, node_id) or str(node.get("class_type", node_id))
    return labels


def format_validation_errors(result: ValidationResult, prompt: dict[str, Any], runtime: Runtime | None = None) -> str:
    """What was wrong, one line per problem, naming node id, class, title and input. With the runtime, a
    missing model file also says which folders were searched and what they hold."""
    lines = []
    if result.error is not None:
        lines.append(f"Workflow is invalid: {result.error.message}")
        if not result.node_errors and result.error.details:
            lines.append(f"  {result.error.details}")
    for node_id, entry in result.node_errors.items():
        title = node_title(prompt, node_id)
        titled = f", {title!r}" if title and title != entry.class_type else ""
        label = f"node {node_id} ({entry.class_type}{titled})"
        for error in entry.errors:
            if error.type == "missing_node_type":
                shown = f"node {node_id}{f' ({title!r})' if title and title != entry.class_type else ''}"
                suggestions = error.extra_info.get("suggestions") or []
                hint = f"did you mean {' or '.join(suggestions)}?" if suggestions else "see: inkgraph nodes"
                lines.append(f"  {shown}: unknown node type {entry.class_type!r} (not installed) — {hint}")
                continue
            name = error.extra_info.get("input_name")
            where = f"{label} input '{name}'" if name else label
            lines.append(f"  {where}: {error.message}" + (f" — {error.details}" if error.details else ""))
            if error.type == "value_not_in_list" and name and runtime is not None:
                lines += _model_folder_lines(runtime, entry.class_type, str(name))
    return "\n".join(lines)


def _model_folder_lines(runtime: Runtime, class_type: str, input_name: str) -> list[str]:
    """For a model file that is not there: the folders searched and the files they hold."""
    from ..core.paths import ModelFiles

    spec = runtime.registry.get(class_type)
    inp = spec.input(input_name) if spec is not None else None
    provider = inp.choices_provider if inp is not None else None
    if not isinstance(provider, ModelFiles):
        return []
    searched = ", ".join(str(d) for d in runtime.folders.model_dirs(provider.folder))
    there = provider(runtime.folders)
    held = ", ".join(there[:10]) + (f" and {len(there) - 10} more" if len(there) > 10 else "") if there else "nothing"
    return [f"    looked in the {provider.folder} folders: {searched}", f"    they hold: {held}"]


def output_paths(runtime: Runtime, outcome: ExecutionOutcome) -> list[Path]:
    """The files a run wrote: every ``{filename, subfolder, type}`` its nodes reported, under any key
    (``images`` holds pictures, animations and videos; ``audio`` sound; packs use ``gifs``, ``video``…)."""
    from ..core.paths import PathEscapeError

    paths = []
    for ui in outcome.outputs.values():
        items = [i for v in ui.values() if isinstance(v, list) for i in v] if isinstance(ui, dict) else []
        for item in items:
            if isinstance(item, dict) and "filename" in item and item.get("type") in ("output", "temp", "input"):
                try:
                    paths.append(runtime.folders.resolve(item["type"], item["filename"], item.get("subfolder", "")))
                except (PathEscapeError, KeyError):
                    continue
    return paths
