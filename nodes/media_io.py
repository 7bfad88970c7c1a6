"""What the video, audio and animation nodes share: their socket types, the listing of media files in
input/, ComfyUI's file naming for saved outputs, and the prompt/workflow tags written into them."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from inkgraph.engine import Socket
from inkgraph.engine.core.media import MediaKind, kind_of_name
from inkgraph.engine.core.paths import (
    Folders,
    FolderType,
    PathEscapeError,
    next_counter,
    record_counter,
    save_target,
    split_annotation,
)

# Socket aliases: a VIDEO is a video_types.VideoInput; an AUDIO is {"waveform": [B, C, T], "sample_rate": int}.
Video = Annotated[Any, Socket(type="VIDEO")]
Audio = Annotated[Any, Socket(type="AUDIO")]

_listings: dict[tuple[Path, frozenset[str]], tuple[float, list[str]]] = {}


def list_input_media(folders: Folders, kinds: Iterable[MediaKind]) -> list[str]:
    """Files directly in input/ whose name says one of ``kinds``, sorted; re-listed when the folder changes."""
    folder, wanted = folders.input, frozenset(kinds)
    try:
        mtime = folder.stat().st_mtime
    except FileNotFoundError:
        return []
    cached = _listings.get((folder, wanted))
    if cached is not None and cached[0] == mtime:
        return cached[1]
    names = sorted(e.name for e in os.scandir(folder) if e.is_file() and kind_of_name(e.name) in wanted)
    _listings[(folder, wanted)] = (mtime, names)
    return names


def input_path(folders: Folders, name: str) -> Path:
    """A combo value (``clip.mp4``, ``sub/clip.mp4``, ``clip.mp4 [output]``) → the file, inside its folder."""
    filename, folder = split_annotation(name, "input")
    return folders.resolve(folder, filename)


def validate_input_file(folders: Folders, name: str, kind: str) -> bool | str:
    """A loader's VALIDATE_INPUTS: any existing file named (not only the listed ones) is accepted; a missing
    one, or a name that leaves its folder, gets ComfyUI's ``Invalid {kind} file: {name}``."""
    try:
        found = input_path(folders, name).is_file()
    except PathEscapeError:
        found = False
    return True if found else f"Invalid {kind} file: {name}"


def tags(prompt: Any, extra_pnginfo: Any) -> dict[str, Any] | None:
    """The container tags ComfyUI writes: each ``extra_pnginfo`` entry (the workflow) and the prompt."""
    found: dict[str, Any] = dict(extra_pnginfo) if isinstance(extra_pnginfo, dict) else {}
    if prompt is not None:
        found["prompt"] = prompt
    return found or None


def output_files(folders: Folders, folder: FolderType, filename_prefix: str, extension: str, count: int = 1,
                 width: int = 0, height: int = 0) -> list[tuple[Path, dict[str, str]]]:
    """``count`` fresh names ``<prefix>_00001_.<ext>`` … (``%batch_num%`` replaced), each with the result
    entry ComfyUI reports for it: ``{"filename", "subfolder", "type"}``."""
    target, base, subfolder = save_target(folders.directory(folder), folder, filename_prefix, width, height)
    counter = next_counter(target, base)
    files = []
    for index in range(count):
        name = f"{base.replace('%batch_num%', str(index))}_{counter + index:05}_.{extension}"
        files.append((target / name, {"filename": name, "subfolder": subfolder, "type": folder}))
    record_counter(target, base, counter + count - 1)
    return files
