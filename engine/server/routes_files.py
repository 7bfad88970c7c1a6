"""Files in and out: /view, /upload/image, /upload/mask, /view_metadata.

Every path goes through :meth:`Folders.resolve` (model files through :meth:`Folders.model_path`), so
``..``, absolute paths, encoded variants and symlinks that lead out of their folder are refused in one place.
Uploads are streamed to disk within ``--max-upload-size`` and given their names without following links
(:mod:`.uploads`).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..core import jsonsafe
from ..core.media import kind_of_name, media_type, upload_mismatch
from ..core.model_paths import MODEL_FOLDERS, canonical
from ..core.paths import PathEscapeError, split_annotation
from ..core.safe_write import staging_file
from .bodies import ViewQuery, bad_request, parse_query
from .uploads import Form, StagedFile, place, receive_form

if TYPE_CHECKING:
    from .app import PromptServer

log = logging.getLogger(__name__)
UPLOAD_TYPES = ("input", "temp", "output")
_NEVER_INLINE = {".html", ".htm", ".js", ".mjs", ".css", ".svg", ".xml", ".xhtml"}


def add_routes(routes: web.RouteTableDef, server: PromptServer) -> None:
    folders = server.runtime.folders
    limit = int(server.config.max_upload_mb * 1024 * 1024)

    def resolve_upload_target(fields: dict[str, str], filename: str) -> tuple[Path, str, str, str]:
        kind = fields.get("type", "input") or "input"
        if kind not in UPLOAD_TYPES:
            raise bad_request(f"Unknown upload type {kind!r}; use input, temp or output.")
        subfolder = fields.get("subfolder", "")
        name = filename.replace("\\", "/").rpartition("/")[2]
        if not name or name in (".", ".."):
            raise bad_request("The uploaded file has no usable name.")
        try:
            folder = folders.resolve(kind, "", subfolder) if subfolder else folders.directory(kind).resolve()  # type: ignore[arg-type]
            folders.resolve(kind, name, subfolder)  # type: ignore[arg-type]
        except (PathEscapeError, UnicodeError) as exc:
            raise bad_request("The upload path leaves its folder.", str(exc)) from exc
        return folder, name, subfolder, kind

    async def save_upload(form: Form, image: StagedFile) -> web.Response:
        folder, name, subfolder, kind = resolve_upload_target(form.fields, image.filename)
        overwrite = form.fields.get("overwrite", "").lower() in ("true", "1")

        def write() -> str:
            folder.mkdir(parents=True, exist_ok=True)
            return place(image.path, folder, name, image.sha256, overwrite)

        try:
            final = await asyncio.get_running_loop().run_in_executor(None, write)
        except OSError as exc:  # e.g. the name is a folder, or the disk is full
            raise bad_request("The upload could not be written.", str(exc)) from exc
        return web.json_response({"name": final, "subfolder": subfolder, "type": kind})

    async def receive(request: web.Request) -> tuple[Form, StagedFile]:
        form = await receive_form(request, folders.input, limit)
        if "image" not in form.files:
            form.discard()
            raise bad_request("No file in the 'image' field of the form.")
        return form, form.files["image"]

    @routes.post("/upload/image")
    async def upload_image(request: web.Request) -> web.Response:
        form, image = await receive(request)
        try:
            with image.path.open("rb") as handle:  # videos and audio come here too: their first bytes must agree
                mismatch = upload_mismatch(image.filename, handle.read(4096))
            if mismatch is not None:
                raise bad_request("The uploaded file is not the media its name says.", mismatch)
            return await save_upload(form, image)
        finally:
            form.discard()

    @routes.post("/upload/mask")
    async def upload_mask(request: web.Request) -> web.Response:
        form, image = await receive(request)
        try:
            original = resolve_original(form.fields.get("original_ref", ""))
            combined = await asyncio.get_running_loop().run_in_executor(None, combine_mask, original, image)
            try:
                return await save_upload(form, combined)
            finally:
                combined.path.unlink(missing_ok=True)
        finally:
            form.discard()

    def resolve_original(text: str) -> Path:
        try:
            ref = jsonsafe.loads(text)
            name, kind = split_annotation(ref["filename"], ref.get("type", "output"))  # ComfyUI's default
            if kind not in UPLOAD_TYPES:
                raise ValueError(f"unknown type {kind!r}")
            original = folders.resolve(kind, name, ref.get("subfolder", ""))
        except PathEscapeError as exc:
            raise bad_request("original_ref leaves its folder.", str(exc)) from exc
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeError) as exc:
            raise bad_request("original_ref must be JSON {filename, subfolder, type} naming an existing image.",
                              str(exc)) from exc
        if not original.is_file():
            raise web.HTTPNotFound(text=f"original image not found: {ref.get('filename')}")
        return original

    def combine_mask(original: Path, mask: StagedFile) -> StagedFile:
        """The original with the mask's alpha, as a new staged PNG (its text metadata kept)."""
        from PIL import Image
        from PIL.PngImagePlugin import PngInfo

        out = io.BytesIO()
        try:
            with Image.open(original) as base, Image.open(mask.path) as alpha_source:
                info = PngInfo()
                for key, value in getattr(base, "text", {}).items():
                    info.add_text(key, value)
                rgba = base.convert("RGBA")
                rgba.putalpha(alpha_source.convert("RGBA").getchannel("A").resize(rgba.size))
                rgba.save(out, format="PNG", pnginfo=info, compress_level=4)
        except Exception as exc:  # any decoder error: the file is not an image we can read
            raise bad_request("The mask or the original is not a readable image.", str(exc)) from exc
        path, handle = staging_file(mask.path.parent)
        with handle:
            handle.write(out.getvalue())
        return StagedFile(mask.filename, path, hashlib.sha256(out.getvalue()).hexdigest(), out.tell())

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
            try:
                data, content_type, name = await asyncio.get_running_loop().run_in_executor(
                    None, _transcode, path, query.preview, query.channel)
            except Exception as exc:  # not an image, a decompression bomb, a codec's complaint
                log.debug("cannot transcode %s: %s", path, exc)
                raise bad_request(f"{filename} cannot be shown as an image.", str(exc)) from exc
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
        """A model's safetensors ``__metadata__``: ``folder`` must be a model folder's name, and the file is
        found as loaders find it (so nothing outside the model folders can be named)."""
        folder = request.match_info["folder"]
        filename = request.query.get("filename", "")
        if canonical(folder) not in MODEL_FOLDERS or not filename.endswith(".safetensors"):
            raise web.HTTPNotFound()
        try:
            path = folders.model_path(folder, filename)
        except (FileNotFoundError, UnicodeError):
            raise web.HTTPNotFound() from None
        except PathEscapeError as exc:
            raise web.HTTPForbidden(text=str(exc)) from exc
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.json_response(await asyncio.get_running_loop().run_in_executor(None, _safetensors_metadata, path))


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
        try:
            header = jsonsafe.loads(fh.read(size))
        except ValueError:  # not a safetensors header: nothing to show
            return {}
    meta = header.get("__metadata__", {}) if isinstance(header, dict) else {}
    return meta if isinstance(meta, dict) else {}
