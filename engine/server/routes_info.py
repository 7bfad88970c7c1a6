"""What the server knows about itself: node types, system, features, model folders, extensions, canvas.

None of these import torch: ``/system_stats`` must answer right after start, and torch takes seconds
to import. Device details appear once a node has loaded torch.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..core.model_paths import MODEL_FOLDERS
from ..core.object_info import node_info, object_info
from ..core.paths import PathEscapeError, safe_join
from ..core.resources import web_root
from ..runtime.stats import loaded_torch, system_stats

if TYPE_CHECKING:
    from .app import PromptServer

log = logging.getLogger(__name__)


def add_routes(routes: web.RouteTableDef, server: PromptServer) -> None:
    runtime = server.runtime

    @routes.get("/object_info")
    async def get_object_info(request: web.Request) -> web.Response:
        loop = asyncio.get_running_loop()  # choice lists read folders: keep that off the event loop
        info = await loop.run_in_executor(None, object_info, runtime.registry, runtime.folders)
        return web.json_response(info)

    @routes.get("/object_info/{node_class}")
    async def get_node_info(request: web.Request) -> web.Response:
        spec = runtime.registry.get(request.match_info["node_class"])
        if spec is None:
            return web.json_response({})
        loop = asyncio.get_running_loop()
        info = await loop.run_in_executor(None, node_info, spec, runtime.folders)
        return web.json_response({spec.class_type: info})

    async def workers() -> list[dict[str, Any]]:
        describe = getattr(server.worker, "describe", None)
        if describe is not None:  # Ray workers: ask each actor (off the event loop)
            described: list[dict[str, Any]] = await asyncio.get_running_loop().run_in_executor(None, describe)
            return described
        current = server.worker.current
        device = None
        if loaded_torch() is not None:  # never import torch here, nor touch it while it imports
            try:
                device = runtime.models.policy.device
            except Exception:
                log.warning("could not detect the compute device", exc_info=True)
        return [{"name": "local", "state": "busy" if current else "idle",
                 "prompt_id": current.prompt_id if current else None, "health": "ok",
                 "device": device, "loaded_models": runtime.models.loaded()}]

    @routes.get("/system_stats")
    async def get_system_stats(request: web.Request) -> web.Response:
        stats = system_stats()
        if server.config.ray is not None:  # extra key: ComfyUI clients ignore it
            stats["workers"] = await workers()
        return web.json_response(stats)

    @routes.get("/workers")
    async def get_workers(request: web.Request) -> web.Response:
        """Each worker with its device, loaded models, running prompt and health, and the queue."""
        return web.json_response({"backend": "ray" if server.config.ray is not None else "local",
                                  "workers": await workers(),
                                  "queue": {"running": len(server.queue.running()),
                                            "pending": len(server.queue.pending())}})

    @routes.get("/features")
    async def get_features(request: web.Request) -> web.Response:
        return web.json_response(server.feature_flags())

    @routes.get("/embeddings")
    async def get_embeddings(request: web.Request) -> web.Response:
        return web.json_response([os.path.splitext(n)[0] for n in runtime.folders.model_files("embeddings")])

    @routes.get("/models")
    async def get_model_folders(request: web.Request) -> web.Response:
        return web.json_response(list(MODEL_FOLDERS))

    @routes.get("/models/{folder}")
    async def get_models(request: web.Request) -> web.Response:
        folder = request.match_info["folder"]
        if folder not in MODEL_FOLDERS:
            return web.json_response({"error": f"unknown model folder {folder!r}"}, status=404)
        return web.json_response(runtime.folders.model_files(folder))

    @routes.get("/extensions")
    async def get_extensions(request: web.Request) -> web.Response:
        root = server.config.web_root
        scripts: list[str] = []
        if root is not None and (root / "extensions").is_dir():
            scripts = sorted("/" + p.relative_to(root).as_posix() for p in (root / "extensions").rglob("*.js"))
        for name, directory in runtime.registry.web_directories().items():  # packs' WEB_DIRECTORY
            scripts += sorted(f"/extensions/{name}/{p.relative_to(directory).as_posix()}"
                              for p in directory.rglob("*.js"))
        if comfyui_extension(server) is not None:
            scripts.append(f"{EXTENSION_URL}/inkgraph.js")
        return web.json_response(scripts)

    @routes.get("/packs")
    async def get_packs(request: web.Request) -> web.Response:
        """Every node pack with its status, load time, node count and error (Inkgraph's own route)."""
        return web.json_response([p.model_dump() for p in runtime.registry.packs.values()])


EXTENSION_URL = "/extensions/inkgraph"


def comfyui_extension(server: PromptServer) -> Path | None:
    """Inkgraph's extension for ComfyUI's frontend (it opens Inkgraph's default workflow), when that
    frontend is the one served."""
    folder = web_root()
    if server.config.frontend != "comfyui" or folder is None:
        return None
    extension = folder / "comfyui-extension"
    return extension if (extension / "inkgraph.js").is_file() else None


def add_static(app: web.Application, server: PromptServer) -> None:
    """The canvas at ``/``: files served as they are, from web/ only."""
    root: Path | None = server.config.web_root
    extension = comfyui_extension(server)
    if extension is not None:
        app.router.add_static(EXTENSION_URL, extension, follow_symlinks=False)

    async def index(request: web.Request) -> web.StreamResponse:
        page = root / "index.html" if root is not None else None
        if page is None or not page.is_file():
            raise web.HTTPNotFound(text="The canvas is not installed (web/index.html is missing); the API "
                                        "is served here: POST /prompt, GET /object_info, /ws, /api/jobs …")
        return web.FileResponse(page, headers={"Cache-Control": "no-cache"})

    app.router.add_get("/", index)
    if root is not None:
        serve_folder(app, "", root)


def serve_folder(app: web.Application, prefix: str, root: Path) -> None:
    """Files under ``root`` at ``prefix/…``, resolved by :func:`safe_join` like every other path the server
    serves: a link out of ``root`` is refused, and a name no file system takes is a 404. (aiohttp's static
    handler answered 500 for a 256-byte name: its ``stat`` raised ENAMETOOLONG.)"""

    async def static_file(request: web.Request) -> web.StreamResponse:
        try:
            path = safe_join(root, request.match_info["path"])
        except PathEscapeError:
            raise web.HTTPNotFound() from None
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    app.router.add_get(prefix + "/{path:.+}", static_file)
