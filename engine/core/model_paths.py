"""Where model files are found: ``models/<folder>`` under the base directory, ComfyUI's
``extra_model_paths.yaml`` (point Inkgraph at an existing ComfyUI or A1111 model tree), and the models
shipped with Inkgraph itself.

Listings are cached per directory tree and re-read only when a directory in the tree changed (its
mtime), because ComfyUI users see /object_info stall on large model folders.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# ComfyUI's folder names (folder_paths.folder_names_and_paths), in its order.
MODEL_FOLDERS = (
    "checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision",
    "style_models", "embeddings", "diffusers", "vae_approx", "controlnet", "gligen", "upscale_models",
    "latent_upscale_models", "hypernetworks", "photomaker", "classifiers", "model_patches", "audio_encoders",
)
MODEL_EXTENSIONS = frozenset({".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"})
# Folders whose loaders also read GGUF files: diffusion models and text encoders, where ComfyUI-GGUF users
# keep them (its loaders list .gguf files of models/unet and models/clip).
FOLDER_EXTENSIONS = {"diffusion_models": MODEL_EXTENSIONS | {".gguf"}, "text_encoders": MODEL_EXTENSIONS | {".gguf"}}
ANY_MODEL_EXTENSION = MODEL_EXTENSIONS.union(*FOLDER_EXTENSIONS.values())  # a file name any folder lists
# Extra subfolders ComfyUI also searches for a folder name, and legacy names that mean another folder.
SUBFOLDERS = {"text_encoders": ("text_encoders", "clip"), "diffusion_models": ("unet", "diffusion_models"),
              "controlnet": ("controlnet", "t2i_adapter")}
ALIASES = {"clip": "text_encoders", "unet": "diffusion_models"}


def canonical(folder: str) -> str:
    return ALIASES.get(folder, folder)


def extensions_of(folder: str) -> frozenset[str]:
    """The file extensions a model folder lists."""
    return FOLDER_EXTENSIONS.get(canonical(folder), MODEL_EXTENSIONS)


@dataclass(frozen=True)
class ExtraPath:
    folder: str
    path: Path
    is_default: bool = False


def parse_extra_model_paths(yaml_file: Path) -> list[ExtraPath]:
    """ComfyUI's format: sections with ``base_path`` (``~`` and env vars expanded, relative to the file),
    optional ``is_default``, and ``folder: path`` entries, where a value may list several paths on lines."""
    import yaml

    data: Any = yaml.safe_load(yaml_file.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{yaml_file}: expected sections of folder: path entries")
    found: list[ExtraPath] = []
    for section, entries in data.items():
        if not isinstance(entries, dict):
            raise ValueError(f"{yaml_file}: section {section!r} must map folder names to paths")
        base = entries.get("base_path")
        base_path = Path(os.path.expandvars(os.path.expanduser(str(base)))) if base else None
        if base_path is not None and not base_path.is_absolute():
            base_path = yaml_file.parent / base_path
        is_default = bool(entries.get("is_default", False))
        for folder, value in entries.items():
            if folder in ("base_path", "is_default") or value is None:
                continue
            for line in str(value).splitlines():
                line = line.strip()
                if not line:
                    continue
                path = Path(os.path.expandvars(os.path.expanduser(line)))
                if not path.is_absolute():
                    path = (base_path or yaml_file.parent) / path
                found.append(ExtraPath(canonical(folder), path.resolve(), is_default))
    return found


class Listing:
    """Model files under a set of roots, cached until a directory in a tree changes."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Path, frozenset[str] | None], tuple[tuple[tuple[str, int], ...], list[str]]] = {}

    def files(self, root: Path, extensions: frozenset[str] | None = MODEL_EXTENSIONS) -> list[str]:
        if not root.is_dir():
            return []
        stamp: list[tuple[str, int]] = []
        names: list[str] = []
        cached = self._cache.get((root, extensions))
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            stamp.append((dirpath, os.stat(dirpath).st_mtime_ns))
            if cached is None:
                names.extend(os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")
                             for f in filenames if not f.startswith(".")
                             and (extensions is None or os.path.splitext(f)[1].lower() in extensions))
        if cached is not None and cached[0] == tuple(stamp):
            return cached[1]
        if cached is not None:  # the tree changed: list again
            self._cache.pop((root, extensions))
            return self.files(root, extensions)
        names.sort()
        self._cache[(root, extensions)] = (tuple(stamp), names)
        return names


LISTING = Listing()
