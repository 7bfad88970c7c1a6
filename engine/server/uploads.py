"""Multipart uploads streamed to disk: the size bound is enforced while the bytes arrive, and nothing is
ever written through a link.

A file part goes, chunk by chunk, into a new hidden staging file (hashing as it goes, for ComfyUI's
"same name, same bytes" reuse); the text fields that say where it belongs (``type``, ``subfolder``,
``overwrite``) usually come *after* it in the form, so the file is given its final name only once the
whole form is read. A refused or failed upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import BodyPartReader, web

from ..core.paths import file_sha256
from ..core.safe_write import install, relocate, staging_file
from .bodies import CHUNK, bad_request, too_large

FIELD_LIMIT = 1 << 20  # a text field (type, subfolder, original_ref…): far more than any real one


@dataclass
class StagedFile:
    """An uploaded file, complete on disk under a hidden name."""

    filename: str
    path: Path
    sha256: str
    size: int


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, StagedFile] = field(default_factory=dict)

    def discard(self) -> None:
        """Remove staged files that were not given a name (a refused or failed upload)."""
        for staged in self.files.values():
            staged.path.unlink(missing_ok=True)


async def _read_field(part: BodyPartReader, budget: int) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        if len(data) + len(chunk) > min(FIELD_LIMIT, budget):
            raise bad_request(f"The form field {part.name!r} is too long.")
        data += chunk
    return bytes(data)


async def _stage(part: BodyPartReader, folder: Path, budget: int, limit: int) -> StagedFile:
    path, handle = staging_file(folder)
    digest, size = hashlib.sha256(), 0
    try:
        with handle:
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                if size > budget:
                    raise too_large(limit)
                digest.update(chunk)
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StagedFile(part.filename or "", path, digest.hexdigest(), size)


async def receive_form(request: web.Request, staging: Path, limit: int) -> Form:
    """Read a multipart form: fields as text, files staged in ``staging``; 413 past ``limit`` bytes in all."""
    if not request.content_type.startswith("multipart/"):
        raise bad_request("Expected a multipart/form-data body.")
    staging.mkdir(parents=True, exist_ok=True)
    form = Form()
    used = 0
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise bad_request("Nested multipart forms are not accepted.")
            if part.filename is not None and part.name is not None and part.name not in form.files:
                staged = await _stage(part, staging, limit - used, limit)
                form.files[part.name] = staged
                used += staged.size
            else:
                data = await _read_field(part, limit - used)
                used += len(data)
                if part.name is not None and part.filename is None:
                    try:
                        form.fields[part.name] = data.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise bad_request(f"The form field {part.name!r} is not UTF-8 text.") from exc
    except ValueError as exc:  # a malformed multipart body (aiohttp raises ValueError subclasses)
        form.discard()
        raise bad_request("The multipart form could not be read.", str(exc)) from exc
    except BaseException:
        form.discard()
        raise
    return form


def place(staged: Path, folder: Path, name: str, sha256: str, overwrite: bool) -> str:
    """Give a staged upload its name in ``folder`` with ComfyUI's rules; the name it got.

    ``overwrite`` replaces what has the name (a link is replaced, not followed). Otherwise the same name
    with the same bytes is reused, and a taken name becomes ``name (1).ext``, ``name (2).ext``…; a name
    that exists in any form, a dangling link included, counts as taken.
    """
    staged = relocate(staged, folder)
    try:
        return _name(staged, folder, name, sha256, overwrite)
    finally:
        staged.unlink(missing_ok=True)  # named (a hard link to it), reused, or failed: the staged name goes


def _name(staged: Path, folder: Path, name: str, sha256: str, overwrite: bool) -> str:
    if overwrite:
        install(staged, folder / name, overwrite=True)
        return name
    stem, ext = os.path.splitext(name)
    candidate, counter = name, 1
    while True:
        path = folder / candidate
        if os.path.lexists(path):
            if not path.is_symlink() and path.is_file() and file_sha256(path) == sha256:
                return candidate
        else:
            try:
                install(staged, path, overwrite=False)
                return candidate
            except FileExistsError:  # taken since we looked: the next name
                pass
        candidate = f"{stem} ({counter}){ext}"
        counter += 1


async def receive_body(request: web.Request, folder: Path, limit: int) -> Path:
    """A raw request body (a workflow saved to userdata), streamed into a staged file in ``folder``."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    path, handle = staging_file(folder)
    size = 0
    try:
        with handle:
            async for chunk in request.content.iter_chunked(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
