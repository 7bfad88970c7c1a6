"""``folder_paths.folder_names_and_paths``: every folder ComfyUI knows, as ComfyUI's packs read and extend it.

In ComfyUI it is a plain dict of ``name → ([paths], {extensions})`` filled at start with every model folder
(and ``custom_nodes``); packs read entries, add their own (``ipadapter``, ``ultralytics`` …) and append paths
to existing ones. Here Inkgraph's folders (``models/<name>``, ``extra_model_paths.yaml``, the shipped models)
come first in every built-in entry and are read from the running runtime each time, so a listing follows
the base directory in use; what packs add is kept and searched after them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any, SupportsIndex

from ..core.model_paths import ALIASES, MODEL_EXTENSIONS, MODEL_FOLDERS, canonical

# ComfyUI's extensions for the folders that do not hold model weights.
_SPECIAL_EXTENSIONS: dict[str, set[str]] = {"configs": {".yaml"}, "diffusers": {"folder"}, "classifiers": {""},
                                            "custom_nodes": set()}
BUILTIN_FOLDERS = (*MODEL_FOLDERS, "custom_nodes")


def default_extensions(name: str) -> set[str]:
    return set(_SPECIAL_EXTENSIONS.get(name, MODEL_EXTENSIONS))


class PathList(list[str]):
    """The path list of a built-in entry: what a pack appends or inserts is remembered for later reads."""

    def __init__(self, paths: Iterable[str], added: list[str]) -> None:
        super().__init__(paths)
        self._added = added

    def append(self, path: str) -> None:
        super().append(path)
        if path not in self._added:
            self._added.append(path)

    def insert(self, index: SupportsIndex, path: str) -> None:
        super().insert(index, path)
        if path not in self._added:
            self._added.insert(0, path)

    def extend(self, paths: Iterable[str]) -> None:
        for path in paths:
            self.append(path)


class FolderTable(MutableMapping[str, tuple[list[str], set[str]]]):
    """ComfyUI's folder table over Inkgraph's folders (see the module docstring)."""

    def __init__(self) -> None:
        self.added: dict[str, tuple[list[str], set[str]]] = {}

    def own_paths(self, name: str) -> list[str]:
        from . import folders

        f = folders()
        if name == "custom_nodes":
            return [str(p) for p in f.custom_node_dirs()]
        if canonical(name) in MODEL_FOLDERS:
            return [str(p) for p in f.model_dirs(name)]
        return []

    def __getitem__(self, name: str) -> tuple[list[str], set[str]]:
        if name not in BUILTIN_FOLDERS:
            return self.added[name]  # KeyError for names nobody declared, as a dict
        added = self.added.setdefault(name, ([], default_extensions(name)))
        paths = list(dict.fromkeys(self.own_paths(name) + added[0]))
        return PathList(paths, added[0]), added[1]

    def __setitem__(self, name: str, value: tuple[list[str], Any]) -> None:
        paths, extensions = value
        self.added[name] = (list(paths), set(extensions))

    def __delitem__(self, name: str) -> None:
        del self.added[name]

    def __iter__(self) -> Iterator[str]:
        yield from BUILTIN_FOLDERS
        yield from (name for name in self.added if name not in BUILTIN_FOLDERS)

    def __len__(self) -> int:
        return len(BUILTIN_FOLDERS) + sum(1 for name in self.added if name not in BUILTIN_FOLDERS)

    def __contains__(self, name: object) -> bool:
        return name in BUILTIN_FOLDERS or name in self.added

    def add_path(self, name: str, path: str, is_default: bool = False) -> None:
        """ComfyUI's ``add_model_folder_path``: ``is_default`` puts the path first among the added ones."""
        name = ALIASES.get(name, name)
        paths, _ = self.added.setdefault(name, ([], default_extensions(name)))
        if path in paths:
            paths.remove(path)
        if is_default:
            paths.insert(0, path)
        else:
            paths.append(path)

    def extensions(self, name: str) -> frozenset[str] | None:
        """The extensions a listing of ``name`` keeps (None: every file)."""
        name = ALIASES.get(name, name)
        if name in self:
            found = self[name][1]
            return frozenset(found) if found and found != {""} else None
        return None
