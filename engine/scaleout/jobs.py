"""What crosses between the server and a worker, and what the dispatcher compares to place a prompt.

Workers need not share a filesystem with the server: the input files a prompt names travel with it, and
the files its output nodes write come back with the ``executed`` event that announces them, so a client
that fetches ``/view`` on that event finds the file already in the server's folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.model_paths import ANY_MODEL_EXTENSION
from ..core.paths import FOLDER_TYPES, Folders, PathEscapeError, safe_join, split_annotation

MAX_INPUT_BYTES = 512 * 1024 * 1024  # per prompt; a bigger input set is refused with a clear error

FileKey = tuple[str, str, str]  # (folder type, subfolder, filename), as in a /view query


@dataclass
class Job:
    """One prompt for a worker (a :class:`~engine.queue.QueueItem` plus its input files)."""

    prompt_id: str
    prompt: dict[str, Any]
    extra_data: dict[str, Any]
    client_id: str | None
    outputs_to_execute: list[str]
    inputs: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (folder, path in it) → content


@dataclass
class Finished:
    """A worker's answer: exactly what the local worker would write into the history entry."""

    outputs: dict[str, Any]
    status: dict[str, Any]
    meta: dict[str, Any]


def constants(prompt: dict[str, Any]) -> list[str]:
    """Every string constant among the prompt's inputs (links are lists, so they are skipped)."""
    values = []
    for node in prompt.values():
        if isinstance(node, dict):
            for value in (node.get("inputs") or {}).values():
                if isinstance(value, str):
                    values.append(value)
    return values


def model_files(prompt: dict[str, Any]) -> frozenset[str]:
    """The model files a prompt's loaders name (checkpoints, LoRAs, upscalers, …): string inputs with a model
    file extension. Compared across prompts to send a prompt to the worker that has them loaded."""
    return frozenset(v for v in constants(prompt) if Path(v).suffix.lower() in ANY_MODEL_EXTENSION)


def node_keys(prompt: dict[str, Any]) -> frozenset[str]:
    """A key per node for its class, its constants and the keys of the nodes it links to (so a changed
    widget changes the keys of everything downstream, as the result cache's signatures do). A worker that
    ran nodes with these keys holds their results: a re-run with a changed tail should go there."""
    keys: dict[str, str] = {}
    for root in prompt:
        stack = [root]
        while stack:  # iterative post-order: prompts can be chains of thousands of nodes
            node_id = stack[-1]
            if node_id in keys:
                stack.pop()
                continue
            node = prompt.get(node_id)
            inputs = node.get("inputs") or {} if isinstance(node, dict) else {}
            links = [v[0] for v in inputs.values() if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str)]
            missing = [link for link in links if link not in keys and link in prompt and link not in stack]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            resolved = {name: [keys.get(v[0], v[0]), v[1]] if isinstance(v, list) and len(v) == 2
                        and isinstance(v[0], str) else v for name, v in inputs.items()}
            text = json.dumps([node.get("class_type") if isinstance(node, dict) else None, resolved],
                              sort_keys=True, default=str)
            keys[node_id] = hashlib.blake2b(text.encode(), digest_size=12).hexdigest()
    return frozenset(keys.values())


def input_files(prompt: dict[str, Any], folders: Folders) -> dict[tuple[str, str], bytes]:
    """The files a prompt names that a worker cannot have: under ``input/`` (LoadImage's ``image``, masks,
    …), or annotated ``[output]``/``[temp]`` (a result of an earlier prompt, stored here under the name the
    server gave it). Keys are (folder, path inside it)."""
    found: dict[tuple[str, str], bytes] = {}
    total = 0
    for value in constants(prompt):
        name, folder = split_annotation(value, "input")
        if not name or (folder, name) in found:
            continue
        root = folders.input if folder == "input" else folders.output if folder == "output" else folders.temp
        try:
            path = safe_join(root, name)
            exists = path.is_file()
        except (PathEscapeError, OSError):  # outside its folder (nothing there is ever shipped), or a
            continue  # text input too long to be a file name
        if not exists:
            continue
        total += path.stat().st_size
        if total > MAX_INPUT_BYTES:
            raise ValueError(f"the prompt's input files exceed {MAX_INPUT_BYTES >> 20} MiB; "
                             "workers need each of them shipped")
        found[(folder, name)] = path.read_bytes()
    return found


def output_files(output: dict[str, Any] | None) -> list[FileKey]:
    """The files a node's UI output refers to (``images``, ``gifs``, ``audio``, … lists of file dicts)."""
    keys = []
    for items in (output or {}).values():
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("filename"), str) \
                    and item.get("type", "output") in FOLDER_TYPES and item.get("type", "output") != "input":
                keys.append((item.get("type", "output"), item.get("subfolder", "") or "", item["filename"]))
    return keys


_COUNTER = re.compile(r"^(?P<stem>.*_)(?P<n>\d{5,})(?P<tail>_?\.[^.]+)$")


class OutputStore:
    """Writes files that come back from workers into the server's folders.

    Two workers number their SaveImage files independently, so a name can already exist here: the file is
    then stored under the next free counter (``x_00002_.png``) and every reference to it in the events and
    the history of that prompt is rewritten, so what clients see always names the stored file.
    """

    def __init__(self, folders: Folders) -> None:
        self.folders = folders
        self._lock = threading.Lock()  # prompts on several workers store at once: one picks a name at a time

    def store(self, files: dict[FileKey, bytes]) -> dict[FileKey, FileKey]:
        with self._lock:
            return self._store(files)

    def _store(self, files: dict[FileKey, bytes]) -> dict[FileKey, FileKey]:
        renamed: dict[FileKey, FileKey] = {}
        taken: set[Path] = set()  # names given in this batch: two files of one node never share one
        for (kind, subfolder, filename), data in files.items():
            if kind not in ("output", "temp"):
                continue  # workers hand back what nodes wrote; nothing else is ever written here
            root = self.folders.output if kind == "output" else self.folders.temp
            target_name = filename
            path = safe_join(root, subfolder, target_name)
            # the same file again (a cached re-run replays its output) keeps its name
            if path in taken or (path.exists() and path.read_bytes() != data):
                while path.exists() or path in taken:
                    target_name = _next_name(target_name)
                    path = safe_join(root, subfolder, target_name)
            taken.add(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(path.name + ".part")
            temporary.write_bytes(data)
            temporary.replace(path)
            if target_name != filename:
                renamed[(kind, subfolder, filename)] = (kind, subfolder, target_name)
        return renamed


def _next_name(filename: str) -> str:
    match = _COUNTER.match(filename)
    if match:
        width = len(match["n"])
        return f"{match['stem']}{int(match['n']) + 1:0{width}d}{match['tail']}"
    stem, dot, suffix = filename.rpartition(".")
    base, _, number = (stem if dot else filename).rpartition(" (")
    if base and number.endswith(")") and number[:-1].isdigit():
        return f"{base} ({int(number[:-1]) + 1}){dot}{suffix}"
    return f"{stem if dot else filename} (1){dot}{suffix}"


def rename_references(value: Any, renamed: dict[FileKey, FileKey]) -> Any:
    """``value`` with every file dict that names a renamed file pointing at its new name."""
    if not renamed:
        return value
    if isinstance(value, dict):
        if isinstance(value.get("filename"), str):
            key = (value.get("type", "output"), value.get("subfolder", "") or "", value["filename"])
            if key in renamed:
                return {**value, "filename": renamed[key][2]}
        return {k: rename_references(v, renamed) for k, v in value.items()}
    if isinstance(value, list):
        return [rename_references(v, renamed) for v in value]
    return value
