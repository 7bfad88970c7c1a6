"""Creating files in input/, output/, temp/ and user/ without ever writing through a link.

:func:`paths.safe_join` resolves links when a path is *named*, so a link out of a folder is refused. It
cannot help with a name that does not exist yet: a dangling link there resolves inside the folder, and
``open(path, "wb")`` then creates the file at the link's target, anywhere on disk. So files are *created*
here: ``O_CREAT | O_EXCL`` fails on any existing name, links included (dangling ones too), and names are
given by ``rename`` (which replaces a link, never follows it) or ``link`` (which refuses any existing name).
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO

_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
STAGING_PREFIX = ".inkgraph-"  # hidden: listings skip names that start with a dot


def open_new(path: Path) -> BinaryIO:
    """A new file at ``path`` for writing; FileExistsError when the name exists in any form (a link too)."""
    return os.fdopen(os.open(path, _NEW, 0o666), "wb")


def staging_file(folder: Path) -> tuple[Path, BinaryIO]:
    """A new hidden file in ``folder`` to write into before it gets its real name with :func:`install`."""
    while True:
        path = folder / f"{STAGING_PREFIX}{secrets.token_hex(8)}.part"
        try:
            return path, open_new(path)
        except FileExistsError:  # 64 random bits taken: try again
            continue


def relocate(staged: Path, folder: Path) -> Path:
    """Move a staged file into ``folder`` (the folder a form named after its file arrived)."""
    if staged.parent == folder:
        return staged
    target, handle = staging_file(folder)
    try:
        try:
            os.replace(staged, target)  # same file system: a rename, replacing our own empty file
        except OSError:  # another file system: copy into the file we created, then drop the original
            with staged.open("rb") as source:
                shutil.copyfileobj(source, handle, 1 << 20)
            staged.unlink()
    finally:
        handle.close()
    return target


def install(staged: Path, target: Path, overwrite: bool) -> None:
    """Give the staged file (in ``target``'s folder) the name ``target``.

    With ``overwrite``, whatever has that name is replaced, a link included (the link goes, its target is
    untouched). Without, FileExistsError if the name exists in any form.
    """
    if overwrite:
        os.replace(staged, target)
        return
    try:
        os.link(staged, target)  # atomic, and refuses any existing name: links are never followed
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: check, then rename (a narrow race, no link followed)
        if os.path.lexists(target):
            raise FileExistsError(target) from None
        os.rename(staged, target)
        return
    os.unlink(staged)


def write_replacing(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path`` in one step: never a half-written file, never through a link at ``path``."""
    staged, handle = staging_file(path.parent)
    try:
        with handle:
            handle.write(data)
        install(staged, path, overwrite=True)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
