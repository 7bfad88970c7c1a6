"""Textual-inversion embeddings named in a prompt as ``embedding:NAME``, found and read as ComfyUI does.

A name is looked up in every ``embeddings`` folder, as given, then with ``.safetensors``, ``.pt`` or ``.bin``
appended, then by file name anywhere below those folders (ComfyUI searches their subfolders too). The file
may hold A1111's ``string_to_param``, per-encoder keys (``clip_l``/``clip_g`` for SDXL, ``clip_h`` for SD2),
or a single tensor under any key (kohya's ``emb_params``). Pickled files are read with ``weights_only`` so
they cannot run code. A name that resolves to nothing, or vectors of the wrong width for an encoder, is
ignored with a warning, as in ComfyUI.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from inkgraph.engine.core.paths import Folders, PathEscapeError, safe_join

log = logging.getLogger(__name__)

PREFIX = "embedding:"
EXTENSIONS = (".safetensors", ".pt", ".bin")
_SPLIT = re.compile(rf" {PREFIX}|\n{PREFIX}")

# embedding name → [n, width] vectors for one encoder; None when no such file ([0, width] when it has none
# of that width, so the name is known but adds nothing)
Lookup = Callable[[str], "torch.Tensor | None"]


def split_words(fragment: str) -> list[str]:
    """A fragment cut before each `` embedding:`` so every embedding reference starts a piece."""
    first, *rest = _SPLIT.split(fragment)
    return [piece for piece in [first, *(PREFIX + piece for piece in rest)] if piece]


def reference(piece: str, lookup: Lookup) -> tuple[torch.Tensor | None, str, str]:
    """(vectors or None, the name looked up, the text after it) for a piece starting with ``embedding:``.

    The name ends at whitespace; when it is not found, trailing commas are taken off and given back to the
    text (``embedding:foo, bar`` → foo and ", bar").
    """
    words = piece[len(PREFIX):].strip("\n").split()
    if not words:
        return None, "", ""
    name, leftover = words[0], " ".join(words[1:])
    vectors = lookup(name)
    if vectors is None:
        stripped = name.strip(",")
        if stripped and len(stripped) < len(name):
            return lookup(stripped), stripped, f"{name[len(stripped):]} {leftover}"
    return vectors, name, leftover


def find(folders: Folders, name: str) -> Path | None:
    """The file ``name`` refers to, or None; never a path outside the embeddings folders."""
    roots = folders.model_dirs("embeddings")
    for root in roots:
        for candidate in (name, *(name + ext for ext in EXTENSIONS)):
            try:
                path = safe_join(root, candidate)
            except PathEscapeError:
                return None
            if path.is_file():
                return path
    for listed in folders.model_files("embeddings", frozenset(EXTENSIONS)):
        stem = listed.rsplit(".", 1)[0]
        if listed.rsplit("/", 1)[-1] == name or stem.rsplit("/", 1)[-1] == name:
            return folders.model_path("embeddings", listed)
    return None


def referenced_files(folders: Folders, text: str) -> tuple[tuple[str, str, int], ...]:
    """(name, file, mtime) for each embedding a prompt names: a cache fingerprint, so adding or replacing
    an embedding file re-encodes the prompts that use it."""
    from .prompt_weights import parse_weights

    if PREFIX not in text:
        return ()
    found = []
    for fragment, _ in parse_weights(text):
        for piece in split_words(fragment):
            words = piece[len(PREFIX):].split() if piece.startswith(PREFIX) else []
            for name in dict.fromkeys(words[:1] + [words[0].strip(",")] if words else []):
                path = find(folders, name)
                found.append((name, str(path), path.stat().st_mtime_ns) if path else (name, "", 0))
    return tuple(found)


@lru_cache(maxsize=64)
def _read(path: str, mtime_ns: int) -> Any:
    if path.lower().endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path, device="cpu")
    return torch.load(path, map_location="cpu", weights_only=True)


def vectors_for(data: Any, key: str, width: int) -> torch.Tensor | None:
    """The [n, width] vectors in a loaded embedding file for the encoder called ``key``."""
    found: Any = None
    if isinstance(data, dict) and "string_to_param" in data:
        found = next(iter(data["string_to_param"].values()), None)
    elif isinstance(data, list):  # a list of {name: tensor}: every tensor of the right width, in order
        rows = [t.reshape(-1, t.shape[-1]) for item in data for t in item.values()
                if isinstance(t, torch.Tensor) and t.shape[-1] == width]
        found = torch.cat(rows) if rows else None
    elif isinstance(data, dict) and key in data:
        found = data[key]
    elif isinstance(data, dict):
        found = next((v for v in data.values() if isinstance(v, torch.Tensor)), None)
    elif isinstance(data, torch.Tensor):
        found = data
    if not isinstance(found, torch.Tensor):
        return None
    found = found.reshape(-1, found.shape[-1]).float()
    return found if found.shape[-1] == width else None


def lookup_for(folders: Folders, key: str, width: int, warnings: list[str]) -> Lookup:
    """A lookup for one text encoder (``key`` clip_l / clip_g / clip_h, its hidden ``width``)."""

    def lookup(name: str) -> torch.Tensor | None:
        path = find(folders, name)
        if path is None:
            return None
        try:
            data = _read(str(path), path.stat().st_mtime_ns)
        except Exception as error:  # a damaged file: ComfyUI skips it with a warning
            warnings.append(f"embedding:{name} could not be read ({error}); ignored")
            return torch.zeros(0, width)
        vectors = vectors_for(data, key, width)
        if vectors is None:
            warnings.append(f"embedding:{name} has no {width}-wide vectors for {key}; ignored for that encoder")
            return torch.zeros(0, width)
        return vectors

    return lookup
