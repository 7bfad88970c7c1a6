"""The rest of what ComfyUI's official frontend asks while starting and working (its settings, model browser,
log console, translations and templates):
model browsing (``/experiment/models``), node packs' translations (``/i18n``) and example workflows
(``/workflow_templates``), global subgraphs, the log console (``/internal/logs``), folder listings
(``/internal/folder_paths``, ``/internal/files``). The template browser is :mod:`.routes_templates`.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections import deque
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..core.model_paths import LISTING, MODEL_FOLDERS
from ..core.paths import PathEscapeError, safe_join
from .bodies import read_json

if TYPE_CHECKING:
    from .app import PromptServer

log = logging.getLogger(__name__)
EXAMPLE_FOLDERS = ("example_workflows", "example", "examples", "workflow", "workflows")
PREVIEW_SUFFIXES = (".webp", ".preview.webp", ".png", ".preview.png", ".jpg", ".preview.jpg", ".jpeg")


class LogBuffer(logging.Handler):
    """The last log lines, for the frontend's console; subscribers get new lines over the websocket.

    Bounded in lines and in each line's length: a log line can carry a node's error message, and those
    run to megabytes (300 of them would stay in memory).
    """

    LINE_LIMIT = 16 * 1024  # characters kept of one log line

    def __init__(self, capacity: int = 300) -> None:
        super().__init__(logging.INFO)
        self.entries: deque[dict[str, str]] = deque(maxlen=capacity)
        self.subscribers: set[str] = set()
        self.on_entry: Any = None  # set by the server: sends {"type": "logs", ...} to subscribers
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if len(text) > self.LINE_LIMIT:
            text = f"{text[:self.LINE_LIMIT]} … [{len(text) - self.LINE_LIMIT} more characters not kept]"
        entry = {"t": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created)), "m": text + "\n"}
        self.entries.append(entry)
        if self.subscribers and self.on_entry is not None:
            self.on_entry(entry)


def _model_files(directory: Path, index: int) -> list[dict[str, Any]]:
    """The model browser's entries: the same files the loaders list (one walker, one set of rules)."""
    files = []
    for name in LISTING.files(directory):
        try:
            stat = (directory / name).stat()
        except OSError:  # removed since it was listed, or a dangling link
            continue
        files.append({"name": name, "pathIndex": index, "modified": stat.st_mtime, "created": stat.st_ctime,
                      "size": stat.st_size})
    return files


def _as_webp(path: Path) -> bytes | None:
    """The image re-encoded as WEBP; None when it is not an image PIL can read."""
    from PIL import Image

    buffer = io.BytesIO()
    try:
        with Image.open(path) as image:
            image.save(buffer, format="WEBP")
    except Exception:  # not an image, a decompression bomb, a codec's complaint: no preview
        log.debug("model preview %s cannot be read", path, exc_info=True)
        return None
    return buffer.getvalue()


def add_routes(routes: web.RouteTableDef, server: PromptServer) -> None:
    folders = server.runtime.folders
    logs: LogBuffer = server.log_buffer

    def model_folders() -> list[str]:
        return [f for f in MODEL_FOLDERS if f != "configs"]

    @routes.get("/experiment/models")
    async def get_model_folders(request: web.Request) -> web.Response:
        return web.json_response([{"name": f, "folders": [str(p) for p in folders.model_dirs(f)]}
                                  for f in model_folders()])

    @routes.get("/experiment/models/{folder}")
    async def get_models(request: web.Request) -> web.Response:
        folder = request.match_info["folder"]
        if folder not in model_folders():
            return web.Response(status=404)
        files: list[dict[str, Any]] = []
        for index, directory in enumerate(folders.model_dirs(folder)):
            if directory.is_dir():
                files += _model_files(directory, index)
        return web.json_response(files)

    @routes.get("/experiment/models/preview/{folder}/{path_index}/{filename:.*}")
    async def get_model_preview(request: web.Request) -> web.Response:
        """The picture beside a model file (``name.png``, ``name.preview.webp``…) as WEBP. Each candidate is
        resolved like a /view path: a link that leads out of the model folder is not served."""
        folder = request.match_info["folder"]
        if folder not in model_folders():
            return web.Response(status=404)
        try:
            directory = folders.model_dirs(folder)[int(request.match_info["path_index"])]
            safe_join(directory, request.match_info["filename"])
            stem = str(PurePosixPath(request.match_info["filename"]).with_suffix(""))
        except (ValueError, IndexError, PathEscapeError, UnicodeError):
            return web.Response(status=404)
        for suffix in PREVIEW_SUFFIXES:
            try:
                candidate = safe_join(directory, stem + suffix)
            except PathEscapeError:
                continue
            if candidate.is_file():
                image = await asyncio.get_running_loop().run_in_executor(None, _as_webp, candidate)
                if image is not None:
                    return web.Response(body=image, content_type="image/webp")
        return web.Response(status=404)

    def pack_dirs() -> dict[str, Path]:
        """Loaded packs' folders (for their example workflows and locales)."""
        found = {}
        for name, status in server.runtime.registry.packs.items():
            source = Path(status.source)
            if status.loaded and source.exists():
                found[name] = source if source.is_dir() else source.parent
        return found

    @routes.get("/workflow_templates")
    async def get_workflow_templates(request: web.Request) -> web.Response:
        templates: dict[str, list[str]] = {}
        for name, directory in pack_dirs().items():
            for sub in EXAMPLE_FOLDERS:
                for path in sorted((directory / sub).glob("*.json")) if (directory / sub).is_dir() else []:
                    templates.setdefault(name, []).append(path.stem)
        return web.json_response(templates)

    @routes.get("/workflow_templates/{pack}/{file}")
    async def get_workflow_template(request: web.Request) -> web.StreamResponse:
        directory = pack_dirs().get(request.match_info["pack"])
        if directory is None:
            return web.Response(status=404)
        for sub in EXAMPLE_FOLDERS:
            try:
                path = safe_join(directory / sub, request.match_info["file"])
            except PathEscapeError:
                return web.Response(status=404)
            if path.is_file():
                return web.FileResponse(path)
        return web.Response(status=404)

    @routes.get("/i18n")
    async def get_i18n(request: web.Request) -> web.Response:
        """Packs' ``locales/<lang>/{main,nodeDefs,commands,settings}.json`` merged per language."""
        merged: dict[str, dict[str, Any]] = {}
        for directory in pack_dirs().values():
            locales = directory / "locales"
            if not locales.is_dir():
                continue
            for language in sorted(p for p in locales.iterdir() if p.is_dir()):
                entry = merged.setdefault(language.name, {})
                for part in ("main", "nodeDefs", "commands", "settings"):
                    file = language / f"{part}.json"
                    if file.is_file():
                        try:
                            data = json.loads(file.read_text(encoding="utf-8"))
                        except (OSError, json.JSONDecodeError):
                            continue
                        if part == "main":
                            entry.update(data)
                        else:
                            entry.setdefault(part, {}).update(data)
        return web.json_response(merged)

    @routes.get("/global_subgraphs")
    async def get_global_subgraphs(request: web.Request) -> web.Response:
        return web.json_response({})

    @routes.get("/global_subgraphs/{id}")
    async def get_global_subgraph(request: web.Request) -> web.Response:
        return web.json_response(None, status=404)

    @routes.get("/internal/logs")
    async def get_logs(request: web.Request) -> web.Response:
        return web.json_response("".join(f"{e['t']} - {e['m']}" for e in logs.entries))

    @routes.get("/internal/logs/raw")
    async def get_raw_logs(request: web.Request) -> web.Response:
        return web.json_response({"entries": list(logs.entries), "size": {"cols": 120, "rows": 40}})

    @routes.patch("/internal/logs/subscribe")
    async def subscribe_logs(request: web.Request) -> web.Response:
        body = await read_json(request)
        try:
            client, enabled = str(body["clientId"]), bool(body["enabled"])
        except (KeyError, TypeError) as exc:
            raise web.HTTPBadRequest(text="expected {\"clientId\": str, \"enabled\": bool}") from exc
        (logs.subscribers.add if enabled else logs.subscribers.discard)(client)
        return web.Response(status=200)

    @routes.get("/internal/folder_paths")
    async def get_folder_paths(request: web.Request) -> web.Response:
        paths = {f: [str(p) for p in folders.model_dirs(f)] for f in MODEL_FOLDERS}
        paths["custom_nodes"] = [str(p) for p in folders.custom_node_dirs()]
        return web.json_response(paths)

    @routes.get("/internal/files/{kind}")
    async def get_files(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        if kind not in ("output", "input", "temp"):
            return web.json_response({"error": "Invalid directory type"}, status=400)
        directory = folders.directory(kind)  # type: ignore[arg-type]
        entries = [e for e in directory.iterdir() if e.is_file() and not e.name.startswith(".")] \
            if directory.is_dir() else []
        entries.sort(key=lambda e: -e.stat().st_mtime)
        return web.json_response([e.name for e in entries])
