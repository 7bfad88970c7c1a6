"""Files in and out: /view, /upload/image, /upload/mask, /view_metadata.

Every path goes through :meth:`Folders.resolve`, so ``..``, absolute paths, encoded variants and symlinks
that lead out of input/, output/ or temp/ are refused in one place. Upload size is bounded by the app's
``client_max_size`` (``--max-upload-size``).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from ..core.media import kind_of_name, media_type, upload_mismatch
from ..core.paths import PathEscapeError, file_sha256, split_annotation
from .bodies import ViewQuery, bad_request, parse_query

if TYPE_CHECKING:
    from .app import PromptServer

UPLOAD_TYPES = ("input", "temp", "output")
_NEVER_INLINE = {".html", ".htm", ".js", ".mjs", ".css", ".svg", ".xml", ".xhtml"}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unique_name(folder: Path, filename: str, data: bytes, overwrite: bool) -> str:
    """ComfyUI's upload naming: same name and same bytes → reuse; taken → ``name (1).ext``, ``name (2).ext``…"""
    if overwrite:
        return filename
    stem, ext = os.path.splitext(filename)
    candidate, counter = filename, 1
    digest = None
    while (folder / candidate).exists():
        digest = digest or _sha256(data)
        if (folder / candidate).is_file() and file_sha256(folder / candidate) == digest:
            return candidate
        candidate = f"{stem} ({counter}){ext}"
        counter += 1
    return candidate


async def _read_form(request: web.Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Multipart form → (text fields, files as (filename, bytes))."""
    if not request.content_type.startswith("multipart/"):
        raise bad_request("Expected a multipart/form-data body.")
    reader = await request.multipart()
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.filename is not None:
            files[part.name] = (part.filename, bytes(await part.read()))
        else:
            fields[part.name] = await part.text()
    return fields, files


def add_routes(routes: web.RouteTableDef, server: PromptServer) -> None:
    folders = server.runtime.folders

    def resolve_upload_target(fields: dict[str, str], filename: str) -> tuple[Path, str, str, str]:
        kind = fields.get("type", "input") or "input"
        if kind not in UPLOAD_TYPES:
            raise bad_request(f"Unknown upload type {kind!r}; use input, temp or output.")
        subfolder = fields.get("subfolder", "")
        name = os.path.basename(filename.replace("\\", "/"))
        if not name or name in (".", ".."):
            raise bad_request("The uploaded file has no usable name.")
        try:
            folder = folders.resolve(kind, "", subfolder) if subfolder else folders.directory(kind).resolve()  # type: ignore[arg-type]
            folders.resolve(kind, name, subfolder)  # type: ignore[arg-type]
        except PathEscapeError as exc:
            raise bad_request("The upload path leaves its folder.", str(exc)) from exc
        return folder, name, subfolder, kind

    async def save_upload(request: web.Request, image_field: tuple[str, bytes], fields: dict[str, str],
                          transform: Any = None) -> web.Response:
        filename, data = image_field
        folder, name, subfolder, kind = resolve_upload_target(fields, filename)
        overwrite = fields.get("overwrite", "").lower() in ("true", "1")

        def write() -> str:
            folder.mkdir(parents=True, exist_ok=True)
            payload = transform(data) if transform is not None else data
            final = unique_name(folder, name, payload, overwrite)
            (folder / final).write_bytes(payload)
            return final

        final = await asyncio.get_running_loop().run_in_executor(None, write)
        return web.json_response({"name": final, "subfolder": subfolder, "type": kind})

    @routes.post("/upload/image")
    async def upload_image(request: web.Request) -> web.Response:
        fields, files = await _read_form(request)
        if "image" not in files:
            raise bad_request("No file in the 'image' field of the form.")
        if (mismatch := upload_mismatch(*files["image"])) is not None:  # videos and audio come here too
            raise bad_request("The uploaded file is not the media its name says.", mismatch)
        return await save_upload(request, files["image"], fields)

    @routes.post("/upload/mask")
    async def upload_mask(request: web.Request) -> web.Response:
        fields, files = await _read_form(request)
        if "image" not in files:
            raise bad_request("No file in the 'image' field of the form.")
        try:
            ref = json.loads(fields.get("original_ref", ""))
            name, kind = split_annotation(ref["filename"], ref.get("type", "output"))  # ComfyUI's default
            if kind not in UPLOAD_TYPES:
                raise ValueError(f"unknown type {kind!r}")
            original = folders.resolve(kind, name, ref.get("subfolder", ""))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise bad_request("original_ref must be JSON {filename, subfolder, type} naming an existing image.",
                              str(exc)) from exc
        except PathEscapeError as exc:
            raise bad_request("original_ref leaves its folder.", str(exc)) from exc
        if not original.is_file():
            raise web.HTTPNotFound(text=f"original image not found: {ref.get('filename')}")

        def combine(mask_bytes: bytes) -> bytes:
            from PIL import Image
            from PIL.PngImagePlugin import PngInfo

            with Image.open(original) as base, Image.open(io.BytesIO(mask_bytes)) as mask:
                info = PngInfo()
                for key, value in getattr(base, "text", {}).items():
                    info.add_text(key, value)
                rgba = base.convert("RGBA")
                alpha = mask.convert("RGBA").getchannel("A").resize(rgba.size)
                rgba.putalpha(alpha)
                out = io.BytesIO()
                rgba.save(out, format="PNG", pnginfo=info, compress_level=4)
                return out.getvalue()

        try:
            return await save_upload(request, files["image"], fields, transform=combine)
        except OSError as exc:
            raise bad_request("The mask or the original is not a readable image.", str(exc)) from exc

    @routes.get("/view")
    async def view(request: web.Request) -> web.StreamResponse:
        query = parse_query(request, ViewQuery)
        filename, kind = split_annotation(query.filename, query.type)
        if filename.startswith("/") or ".." in filename.replace("\\", "/").split("/"):
            raise bad_request("Invalid filename.")
        try:
            path = folders.resolve(kind, filename, query.subfolder)
        except PathEscapeError as exc:
            raise web.HTTPForbidden(text=str(exc)) from exc
        if not path.is_file():
            raise web.HTTPNotFound(text=f"{filename} not found")
        if (query.preview or query.channel != "rgba") and kind_of_name(path.name) in ("image", None):  # not video
            data, content_type, name = await asyncio.get_running_loop().run_in_executor(
                None, _transcode, path, query.preview, query.channel)
            return web.Response(body=data, content_type=content_type, headers={
                "Content-Disposition": f'filename="{name}"', "X-Content-Type-Options": "nosniff"})
        content_type = media_type(path.name) or "application/octet-stream"
        if path.suffix.lower() in _NEVER_INLINE:
            content_type = "application/octet-stream"
        return web.FileResponse(path, headers={"Content-Disposition": f'filename="{path.name}"',
                                               "Content-Type": content_type,
                                               "X-Content-Type-Options": "nosniff"})

    @routes.get("/view_metadata/{folder}")
    async def view_metadata(request: web.Request) -> web.Response:
        filename = request.query.get("filename", "")
        if not filename.endswith(".safetensors"):
            raise web.HTTPNotFound()
        try:
            from ..core.paths import safe_join

            path = safe_join(folders.models / request.match_info["folder"], filename)
        except PathEscapeError as exc:
            raise web.HTTPForbidden(text=str(exc)) from exc
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.json_response(_safetensors_metadata(path))


def _transcode(path: Path, preview: str | None, channel: str) -> tuple[bytes, str, str]:
    """``preview=webp;90`` / ``jpeg;90`` re-encodes; ``channel=rgb|a`` picks channels (as ComfyUI)."""
    from PIL import Image

    with Image.open(path) as source:
        image: Image.Image
        if channel == "rgb":
            image = source.convert("RGB")
        elif channel == "a":
            rgba = source.convert("RGBA")
            image = Image.new("RGBA", rgba.size)
            image.putalpha(rgba.getchannel("A"))
        else:
            image = source.copy()
    stem = path.stem
    out = io.BytesIO()
    if preview:
        fmt, _, quality = preview.partition(";")
        fmt = fmt.lower()
        if fmt not in ("webp", "jpeg"):
            fmt = "webp"
        q = int(quality) if quality.isdigit() else 90
        (image.convert("RGB") if fmt == "jpeg" else image).save(out, format=fmt.upper(), quality=q)
        return out.getvalue(), f"image/{fmt}", f"{stem}.{fmt}"
    image.save(out, format="PNG")
    return out.getvalue(), "image/png", f"{stem}.png"


def _safetensors_metadata(path: Path) -> dict[str, Any]:
    """The ``__metadata__`` of a safetensors header, read without loading any tensor."""
    with path.open("rb") as fh:
        size = int.from_bytes(fh.read(8), "little")
        if size <= 0 or size > 100 * 1024 * 1024:
            return {}
        header = json.loads(fh.read(size))
    meta = header.get("__metadata__", {})
    return meta if isinstance(meta, dict) else {}
