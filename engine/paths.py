"""The folder layout under one base directory, and the only sanctioned way to turn names into paths.

Every file a node or route reads or writes is resolved by :func:`safe_join` against one of these folders,
so ``..``, absolute paths and symlinks that lead outside are refused in one place rather than in each
caller.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FolderType = Literal["input", "output", "temp"]
FOLDER_TYPES: tuple[FolderType, ...] = ("input", "output", "temp")

BASE_DIR_ENV = "INKGRAPH_BASE_DIR"


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

    Symlinks are resolved before the check, so a link pointing outside is refused too.
    """
    for part in parts:
        if "\x00" in part:
            raise PathEscapeError("path contains a NUL byte")
        if os.path.isabs(part) or part.startswith(("/", "\\")):
            raise PathEscapeError(f"absolute path not allowed: {part!r}")
    real_root = root.resolve()
    candidate = real_root.joinpath(*parts).resolve()
    if candidate != real_root and not candidate.is_relative_to(real_root):
        raise PathEscapeError(f"path {os.path.join(*parts)!r} leaves its folder")
    return candidate


def split_annotation(name: str, default: FolderType) -> tuple[str, FolderType]:
    """ComfyUI's ``"file.png [output]"`` annotation selects the folder a filename refers to."""
    for folder in FOLDER_TYPES:
        suffix = f" [{folder}]"
        if name.endswith(suffix):
            return name[: -len(suffix)], folder
    return name, default


@dataclass(frozen=True)
class Folders:
    """``input/``, ``output/``, ``temp/``, ``models/`` and ``user/`` under one base directory."""

    base: Path

    @classmethod
    def at(cls, base: str | os.PathLike[str] | None = None) -> Folders:
        return cls(Path(base).expanduser().resolve() if base is not None else default_base_dir().resolve())

    @property
    def input(self) -> Path:
        return self.base / "input"

    @property
    def output(self) -> Path:
        return self.base / "output"

    @property
    def temp(self) -> Path:
        return self.base / "temp"

    @property
    def models(self) -> Path:
        return self.base / "models"

    @property
    def user(self) -> Path:
        return self.base / "user"

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

    def model_files(self, folder: str) -> list[str]:
        """Model files in ``models/<folder>`` (subfolders included), as ComfyUI lists them."""
        return list_files(self.models / folder, MODEL_EXTENSIONS)

    def annotated(self, name: str, default: FolderType = "input") -> Path:
        """Resolve a possibly annotated filename (``"a.png [output]"``)."""
        filename, folder = split_annotation(name, default)
        return self.resolve(folder, filename)


# ComfyUI's model folder names (folder_paths.folder_names_and_paths), in its order.
MODEL_FOLDERS = (
    "checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision",
    "style_models", "embeddings", "diffusers", "vae_approx", "controlnet", "gligen", "upscale_models",
    "latent_upscale_models", "hypernetworks", "photomaker", "classifiers", "model_patches", "audio_encoders",
)
MODEL_EXTENSIONS = frozenset({".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"})


def list_files(root: Path, extensions: frozenset[str] | None = None) -> list[str]:
    """Relative paths (``sub/name.ext``) of the files under ``root``, sorted; hidden entries skipped."""
    if not root.is_dir():
        return []
    names = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if filename.startswith("."):
                continue
            if extensions is not None and Path(filename).suffix.lower() not in extensions:
                continue
            names.append(os.path.relpath(os.path.join(dirpath, filename), root).replace(os.sep, "/"))
    return sorted(names)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks (upload dedupe, LoadImage's fingerprint)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
