"""The data folders shipped inside the installed package: the canvas (``web``), the example workflows
(``workflows``) and the embedded demo models (``models``).

They are found through :mod:`importlib.resources`, so a wheel installed anywhere finds them exactly as a
checkout does (there, ``inkgraph/`` links to the repository's top-level folders).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

PACKAGE = "inkgraph"


@cache
def package_folder(name: str) -> Path | None:
    """``inkgraph/<name>`` as a folder on disk, or None when this installation has none."""
    root = files(PACKAGE) / name
    if not isinstance(root, Path):  # a zipped installation: nothing to serve files from
        return None
    return root if root.is_dir() else None


def web_root() -> Path | None:
    return package_folder("web")


def workflows_folder() -> Path | None:
    return package_folder("workflows")


def shipped_models() -> Path | None:
    return package_folder("models")
