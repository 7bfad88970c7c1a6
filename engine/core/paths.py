"""The folder layout under one base directory, and the only sanctioned way to turn names into paths.

Every file a node or route reads or writes is resolved by :func:`safe_join` against one of these folders,
so ``..``, absolute paths and symlinks that lead outside are refused in one place rather than in each
caller.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .model_paths import (
    LISTING,
    SUBFOLDERS,
    ExtraPath,
    canonical,
    extensions_of,
    parse_extra_model_paths,
)
from .resources import shipped_models

FolderType = Literal["input", "output", "temp"]
FOLDER_TYPES: tuple[FolderType, ...] = ("input", "output", "temp")

BASE_DIR_ENV = "INKGRAPH_BASE_DIR"


MAX_NAME_BYTES = 255  # NAME_MAX: one file or folder name
MAX_PATH_BYTES = 4096  # PATH_MAX


class PathEscapeError(ValueError):
    """A requested path would leave the folder it must stay in."""


def default_base_dir() -> Path:
    """``$INKGRAPH_BASE_DIR``, else the platform's per-user data folder (``~/.local/share/inkgraph``)."""
    env = os.environ.get(BASE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        root = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        root = Path.home() / "Library" / "Application Support"
    else:
        root = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return root / "inkgraph"


def safe_join(root: Path, *parts: str) -> Path:
    """``root/parts...`` resolved, or :class:`PathEscapeError` if the result is not inside ``root``.

    Symlinks are resolved before the check, so a link pointing outside is refused too. Names no file
    system can hold (a part over 255 bytes, a path over 4,096, text that is not encodable) are refused
    here as well, so that asking whether they exist cannot raise in every caller.
    """
    for part in parts:
        if "\x00" in part:
            raise PathEscapeError("path contains a NUL byte")
        if os.path.isabs(part) or part.startswith(("/", "\\")):
            raise PathEscapeError(f"absolute path not allowed: {part!r}")
        try:
            encoded = os.fsencode(part)
        except UnicodeError as exc:
            raise PathEscapeError("path is not a valid file name (unencodable characters)") from exc
        if len(encoded) > MAX_PATH_BYTES or any(len(name) > MAX_NAME_BYTES for name in encoded.split(b"/")):
            raise PathEscapeError("path is longer than a file system allows")
    real_root = root.resolve()
    candidate = real_root.joinpath(*parts).resolve()
    if candidate != real_root and not candidate.is_relative_to(real_root):
        raise PathEscapeError(f"path {os.path.join(*parts)!r} leaves its folder")
    return candidate


def model_join(root: Path, name: str) -> Path:
    """``root/name`` for a model name from a request: refused when the name itself leaves ``root`` (``..``,
    absolute paths, NUL), but not resolved — model files and folders that are symlinks inside a model folder
    load wherever they point (the user put them there)."""
    if "\x00" in name:
        raise PathEscapeError("path contains a NUL byte")
    normal = posixpath.normpath(name.replace("\\", "/"))
    if os.path.isabs(name) or name.startswith(("/", "\\")) or normal == ".." or normal.startswith("../") \
            or (len(normal) > 1 and normal[1] == ":"):
        raise PathEscapeError(f"model name {name!r} leaves its folder")
    return root / normal


def split_annotation(name: str, default: FolderType) -> tuple[str, FolderType]:
    """ComfyUI's ``"file.png [output]"`` annotation selects the folder a filename refers to."""
    for folder in FOLDER_TYPES:
        suffix = f" [{folder}]"
        if name.endswith(suffix):
            return name[: -len(suffix)], folder
    return name, default


@dataclass(frozen=True)
class Folders:
    """``input/``, ``output/``, ``temp/``, ``models/`` and ``user/`` under one base directory, plus model
    folders from ``extra_model_paths.yaml`` and the models shipped with Inkgraph. The input, output, temp and
    user folders may be placed elsewhere (ComfyUI's ``--output-directory`` …); every path check applies to
    them wherever they are."""

    base: Path
    extra_models: tuple[ExtraPath, ...] = ()
    input_dir: Path | None = None
    output_dir: Path | None = None
    temp_dir: Path | None = None
    user_dir: Path | None = None

    @classmethod
    def at(cls, base: str | os.PathLike[str] | None = None,
           extra_model_paths: list[Path] | None = None, *, input: str | os.PathLike[str] | None = None,
           output: str | os.PathLike[str] | None = None, temp: str | os.PathLike[str] | None = None,
           user: str | os.PathLike[str] | None = None) -> Folders:
        """Folders under ``base`` (``input``/``output``/``temp``/``user`` elsewhere when given);
        ``<base>/extra_model_paths.yaml`` is read when present."""
        root = Path(base).expanduser().resolve() if base is not None else default_base_dir().resolve()
        extras: list[ExtraPath] = []
        for yaml_file in [root / "extra_model_paths.yaml", *(extra_model_paths or [])]:
            if yaml_file.is_file():
                extras.extend(parse_extra_model_paths(yaml_file))

        def moved(path: str | os.PathLike[str] | None) -> Path | None:
            return Path(path).expanduser().resolve() if path is not None else None

        return cls(root, tuple(extras), moved(input), moved(output), moved(temp), moved(user))

    @property
    def input(self) -> Path:
        return self.input_dir or self.base / "input"

    @property
    def output(self) -> Path:
        return self.output_dir or self.base / "output"

    @property
    def temp(self) -> Path:
        return self.temp_dir or self.base / "temp"

    @property
    def models(self) -> Path:
        return self.base / "models"

    @property
    def user(self) -> Path:
        return self.user_dir or self.base / "user"

    def ensure(self) -> Folders:
        for folder in (self.input, self.output, self.temp, self.models, self.user):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def directory(self, folder: FolderType) -> Path:
        return {"input": self.input, "output": self.output, "temp": self.temp}[folder]

    def resolve(self, folder: FolderType, filename: str, subfolder: str = "") -> Path:
        """The path of ``subfolder/filename`` inside ``folder``; refuses anything that leaves it."""
        parts = [p for p in (subfolder, filename) if p]
        return safe_join(self.directory(folder), *parts)

    def model_dirs(self, folder: str) -> list[Path]:
        """Where files of a model folder are looked for, in order (``is_default`` extras first)."""
        folder = canonical(folder)
        own = [self.models / sub for sub in SUBFOLDERS.get(folder, (folder,))]
        defaults = [e.path for e in self.extra_models if e.folder == folder and e.is_default]
        others = [e.path for e in self.extra_models if e.folder == folder and not e.is_default]
        models = shipped_models()
        shipped = [models / folder] if models is not None and (models / folder).is_dir() else []
        return list(dict.fromkeys(defaults + own + others + shipped))

    def model_files(self, folder: str, extensions: frozenset[str] | None = None) -> list[str]:
        """Model files (``sub/name.ext``) across the folder's directories; the first directory wins a name.
        By default the extensions the folder lists (``.gguf`` too in diffusion_models and text_encoders)."""
        names: dict[str, None] = {}
        wanted = extensions if extensions is not None else extensions_of(folder)
        for directory in self.model_dirs(folder):
            names.update(dict.fromkeys(LISTING.files(directory, wanted)))
        return sorted(names)

    def model_path(self, folder: str, name: str) -> Path:
        """The file a model name refers to; FileNotFoundError naming the folders searched. Symlinks inside a
        model folder are followed; a name that leaves the folder is refused (:func:`model_join`)."""
        dirs = self.model_dirs(folder)
        for directory in dirs:
            candidate = model_join(directory, name)
            if candidate.exists():
                return candidate
        raise FileNotFoundError(f"{name!r} is not in any {folder} folder ({', '.join(map(str, dirs))})")

    def custom_node_dirs(self) -> list[Path]:
        """Where node packs are looked for: ``<base>/custom_nodes`` and extra_model_paths' ``custom_nodes``."""
        extra = [e.path for e in self.extra_models if e.folder == "custom_nodes"]
        return list(dict.fromkeys([self.base / "custom_nodes", *extra]))

    def annotated(self, name: str, default: FolderType = "input") -> Path:
        """Resolve a possibly annotated filename (``"a.png [output]"``)."""
        filename, folder = split_annotation(name, default)
        return self.resolve(folder, filename)


@dataclass(frozen=True)
class ModelFiles:
    """The choices of a combo that picks a model file: ``Combo(options=ModelFiles("checkpoints"))``.

    A plain function would list the files as well; this one also says which folder it lists, so an error
    about a missing file can say where it was looked for and what is there.
    """

    folder: str

    def __call__(self, folders: Folders) -> list[str]:
        return folders.model_files(self.folder)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks (upload dedupe, LoadImage's fingerprint)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- saving numbered files (SaveImage, CheckpointSave, ComfyUI packs through folder_paths) -----------------

def expand_prefix(prefix: str, width: int, height: int) -> str:
    """ComfyUI's server-side prefix variables: %width% %height% %year% %month% %day% %hour% …"""
    if "%" not in prefix:
        return prefix
    now = time.localtime()
    for key, value in (("%width%", str(width)), ("%height%", str(height)), ("%year%", str(now.tm_year)),
                       ("%month%", f"{now.tm_mon:02}"), ("%day%", f"{now.tm_mday:02}"),
                       ("%hour%", f"{now.tm_hour:02}"), ("%minute%", f"{now.tm_min:02}"),
                       ("%second%", f"{now.tm_sec:02}")):
        prefix = prefix.replace(key, value)
    return prefix


# ComfyUI takes any prefix and lets the file system refuse it. A name component is at most 255 bytes
# (NAME_MAX); the counter and extension add up to 19 (``_00001_.safetensors``), so each component of a prefix
# may have 200 bytes, and the whole prefix 1,024 characters (a few nested subfolders). Longer prefixes can
# only fail, after the images were made; these bounds make them a validation error instead.
MAX_PREFIX_COMPONENT_BYTES = 200
MAX_PREFIX_CHARS = 1024
BATCH_NUM = "%batch_num%"
_COUNTER_MEMORY = 1024  # (folder, prefix) pairs whose last number is remembered; any prefix adds one


def filename_prefix_problem(prefix: str) -> str | None:
    """Why a ``filename_prefix`` cannot name files on any file system, or None."""
    if "\x00" in prefix:
        return "it contains a NUL character"
    if len(prefix) > MAX_PREFIX_CHARS:
        return f"it is {len(prefix)} characters long; at most {MAX_PREFIX_CHARS} are allowed"
    for component in prefix.replace("\\", "/").split("/"):
        size = len(component.encode("utf-8", "surrogatepass"))
        if size > MAX_PREFIX_COMPONENT_BYTES:
            return (f"one of its parts is {size} bytes long; a file or folder name may have at most "
                    f"{MAX_PREFIX_COMPONENT_BYTES}")
    return None


def _counter_of(name: str, pieces: list[str]) -> int | None:
    """The number in ``name`` if it is ``<pieces joined by digit runs>_<digits>_...`` (as ComfyUI's names),
    else None. Plain string scanning: the prefix is user text and never becomes a regular expression."""
    if not name.startswith(pieces[0]):
        return None
    positions = {len(pieces[0])}
    for piece in pieces[1:]:  # each %batch_num% matched any run of digits
        following: set[int] = set()
        for start in positions:
            end = start
            while end < len(name) and name[end].isascii() and name[end].isdigit():
                end += 1
                if name.startswith(piece, end):
                    following.add(end + len(piece))
        positions = following
    for start in sorted(positions):
        if name.startswith("_", start):
            digits, underscore, _ = name[start + 1:].partition("_")
            if underscore and digits.isascii() and digits.isdigit():
                return int(digits)
    return None


def highest_counter(folder: Path, base: str) -> int:
    """The highest ``<base>_NNNNN_`` number of the names in ``folder`` (0 when there is none)."""
    pieces = base.split(BATCH_NUM)
    highest = 0
    for name in os.listdir(folder):
        number = _counter_of(name, pieces)
        if number is not None and number > highest:
            highest = number
    return highest


_last_counter: dict[tuple[Path, str], int] = {}


def next_counter(folder: Path, base: str) -> int:
    """1 + the highest ``<base>_NNNNN_`` number already in ``folder`` (so nothing is overwritten).

    The folder is scanned once per (folder, prefix) and process; afterwards only the next name is
    checked, so a thousand saves into a busy folder cost a thousand lookups, not a million. A
    ``%batch_num%`` in the prefix matches any number (ComfyUI overwrote those files on every run).
    """
    key = (folder.resolve(), base)
    last = _last_counter.get(key)
    if last is not None and BATCH_NUM not in base and not os.path.lexists(folder / f"{base}_{last + 1:05}_.png"):
        return last + 1
    return highest_counter(folder, base) + 1


def record_counter(folder: Path, base: str, last: int) -> None:
    """Remember the last number written, so the next save needs no folder scan."""
    key = (folder.resolve(), base)
    _last_counter.pop(key, None)
    _last_counter[key] = last
    while len(_last_counter) > _COUNTER_MEMORY:  # oldest first: every distinct prefix would stay forever
        del _last_counter[next(iter(_last_counter))]


def save_target(root: Path, folder_name: str, filename_prefix: str, width: int, height: int
                ) -> tuple[Path, str, str]:
    """(directory, file base name, subfolder) for ``filename_prefix`` under ``root``, created if needed;
    ValueError when the prefix would leave ``root`` (ComfyUI refuses that too)."""
    problem = filename_prefix_problem(filename_prefix)
    if problem is not None:
        raise ValueError(f"filename_prefix is not usable: {problem}")
    prefix = expand_prefix(filename_prefix, width, height)
    subfolder, _, base = os.path.normpath(prefix).replace("\\", "/").rpartition("/")
    try:
        target = safe_join(root, subfolder) if subfolder else root.resolve()
    except PathEscapeError as exc:
        raise ValueError(f"Saving image outside the {folder_name} folder is not allowed "
                         f"(filename_prefix {filename_prefix!r})") from exc
    target.mkdir(parents=True, exist_ok=True)
    return target, base, subfolder
