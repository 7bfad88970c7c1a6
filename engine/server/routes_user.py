"""Per-user storage the official frontend uses: ``/users``, ``/settings``, ``/userdata`` (v1 and v2).

Single-user by default, as ComfyUI without ``--multi-user``: everything lives under ``<base>/user/default/``
(``comfy.settings.json``, ``workflows/`` …). With ``--multi-user`` each request names its user in the
``comfy-user`` header (one of those ``POST /users`` made, listed in ``users.json``) and uses
``<base>/user/<id>/``. Every path a request names goes through ``safe_join`` against that folder, so ``..``,
absolute paths, encoded escapes and symlinks out are refused.
"""

from __future__ import annotations

import contextvars
import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from ..core import jsonsafe
from ..core.paths import PathEscapeError, safe_join
from ..core.safe_write import install, write_replacing
from .bodies import read_json
from .uploads import receive_body

if TYPE_CHECKING:
    from .app import PromptServer

DEFAULT_USER = "default"
SETTINGS_FILE = "comfy.settings.json"
USERS_FILE = "users.json"
# The user the current request acts for (set by user_middleware; handlers run in the request's task).
_REQUEST_USER: contextvars.ContextVar[str] = contextvars.ContextVar("comfy_user", default=DEFAULT_USER)


def read_users(user_folder: Path) -> dict[str, str]:
    """``--multi-user``'s users: id → name."""
    try:
        users = json.loads((user_folder / USERS_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return {str(k): str(v) for k, v in users.items()} if isinstance(users, dict) else {}


def user_middleware(server: PromptServer) -> Any:
    """With ``--multi-user``, the ``comfy-user`` header picks the request's user; an unknown one is refused."""
    from aiohttp.typedefs import Handler

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        user = request.headers.get("comfy-user") if server.config.multi_user else None
        if user is None:
            return await handler(request)
        if user not in read_users(server.runtime.folders.user):
            return web.json_response({"error": f"Unknown user: {user}"}, status=400)
        token = _REQUEST_USER.set(user)
        try:
            return await handler(request)
        finally:
            _REQUEST_USER.reset(token)

    return middleware


def _file_info(path: Path, root: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": path.relative_to(root).as_posix(), "size": stat.st_size, "modified": stat.st_mtime,
            "created": stat.st_ctime}


def seed_user_folder(root: Path) -> None:
    """What the frontend reads at start exists from the first run: the workflow and subgraph folders, an
    empty user.css (the place for one's own styles) and an empty list of saved templates."""
    for folder in ("workflows", "subgraphs"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    if not (root / "user.css").exists():
        (root / "user.css").write_text("/* Your own styles for the frontend go here. */\n", encoding="utf-8")
    if not (root / "comfy.templates.json").exists():
        (root / "comfy.templates.json").write_text("[]\n", encoding="utf-8")


def add_routes(routes: web.RouteTableDef, server: PromptServer) -> None:
    seed_user_folder(server.runtime.folders.user / DEFAULT_USER)
    limit = int(server.config.max_upload_mb * 1024 * 1024)

    def user_root() -> Path:
        root = safe_join(server.runtime.folders.user, _REQUEST_USER.get())
        root.mkdir(parents=True, exist_ok=True)
        return root

    @routes.get("/user.css")
    async def get_user_css(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(user_root() / "user.css", headers={"Content-Type": "text/css"})

    def user_path(name: str | None) -> Path:
        """A path inside the user folder; HTTPForbidden when it would leave it."""
        if not name:
            raise web.HTTPBadRequest(text="No file given")
        try:
            return safe_join(user_root(), unquote(name))
        except PathEscapeError as exc:
            raise web.HTTPForbidden(text="Invalid path") from exc

    def read_settings() -> dict[str, Any]:
        path = user_root() / SETTINGS_FILE
        if not path.is_file():
            return {}
        try:
            data = jsonsafe.stored_loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):  # missing, torn, or written by hand beyond reason
            return {}
        return data if isinstance(data, dict) else {}

    def write_settings(settings: dict[str, Any]) -> None:
        # never a half-written settings file, never written through a link
        write_replacing(user_root() / SETTINGS_FILE, json.dumps(settings, indent=4).encode("utf-8"))

    async def json_body(request: web.Request) -> Any:
        return await read_json(request, empty=None)

    @routes.get("/users")
    async def get_users(request: web.Request) -> web.Response:
        if server.config.multi_user:
            return web.json_response({"storage": "server", "users": read_users(server.runtime.folders.user)})
        return web.json_response({"storage": "server", "migrated": True})

    @routes.post("/users")
    async def post_users(request: web.Request) -> web.Response:
        if not server.config.multi_user:
            return web.json_response({"error": "This server has one user (no --multi-user mode)."}, status=400)
        body = await json_body(request)
        name = str(body.get("username", "")).strip() if isinstance(body, dict) else ""
        if not name:
            return web.json_response({"error": "username not provided"}, status=400)
        users = read_users(server.runtime.folders.user)
        if name in users.values():
            return web.json_response({"error": "Duplicate username."}, status=400)
        user_id = f"{re.sub('[^a-zA-Z0-9-_]+', '-', name)}_{uuid.uuid4()}"
        users[user_id] = name
        (server.runtime.folders.user / USERS_FILE).write_text(json.dumps(users), encoding="utf-8")
        seed_user_folder(safe_join(server.runtime.folders.user, user_id))
        return web.json_response(user_id)

    @routes.get("/settings")
    async def get_settings(request: web.Request) -> web.Response:
        return web.json_response(read_settings())

    @routes.get("/settings/{id}")
    async def get_setting(request: web.Request) -> web.Response:
        return web.json_response(read_settings().get(request.match_info["id"]))

    @routes.post("/settings")
    async def post_settings(request: web.Request) -> web.Response:
        update = await json_body(request)
        if not isinstance(update, dict):
            raise web.HTTPBadRequest(text="Settings must be a JSON object")
        write_settings({**read_settings(), **update})
        return web.Response(status=200)

    @routes.post("/settings/{id}")
    async def post_setting(request: web.Request) -> web.Response:
        settings = read_settings()
        settings[request.match_info["id"]] = await json_body(request)
        write_settings(settings)
        return web.Response(status=200)

    @routes.get("/userdata")
    async def list_userdata(request: web.Request) -> web.Response:
        directory = request.query.get("dir", "")
        if not directory:
            return web.Response(status=400, text="Directory not provided")
        root = user_path(directory)
        if not root.is_dir():
            return web.Response(status=404, text="Directory not found")
        recurse = request.query.get("recurse", "").lower() == "true"
        full_info = request.query.get("full_info", "").lower() == "true"
        split = request.query.get("split", "").lower() == "true"
        files = sorted(p for p in (root.rglob("*") if recurse else root.glob("*")) if p.is_file())
        results: list[Any] = []
        for path in files:
            relative = path.relative_to(root).as_posix()
            if full_info:
                results.append(_file_info(path, root))
            else:
                results.append([relative, *relative.split("/")] if split else relative)
        return web.json_response(results)

    @routes.get("/v2/userdata")
    async def list_userdata_v2(request: web.Request) -> web.Response:
        requested = request.query.get("path", "")
        base = user_root()
        target = user_path(requested) if requested else base
        if not target.exists():
            return web.Response(status=404, text="Requested path not found")
        if not target.is_dir():
            return web.Response(status=400, text="Requested path is not a directory")
        entries: list[dict[str, Any]] = []
        for path in target.rglob("*"):
            relative = path.relative_to(base).as_posix()
            if path.is_dir():
                entries.append({"name": path.name, "path": relative, "type": "directory"})
            elif path.is_file():
                stat = path.stat()
                entries.append({"name": path.name, "path": relative, "type": "file", "size": stat.st_size,
                                "modified": stat.st_mtime})
        entries.sort(key=lambda e: (e["type"] != "directory", e["name"].lower()))
        return web.json_response(entries)

    @routes.get("/userdata/{file}")
    async def get_userdata(request: web.Request) -> web.StreamResponse:
        path = user_path(request.match_info["file"])
        if not path.is_file():
            return web.Response(status=404)
        return web.FileResponse(path, headers={"X-Content-Type-Options": "nosniff"})

    def written(path: Path, full_info: bool) -> web.Response:
        root = user_root()
        return web.json_response(_file_info(path, root) if full_info else path.relative_to(root).as_posix())

    @routes.post("/userdata/{file}")
    async def post_userdata(request: web.Request) -> web.Response:
        path = user_path(request.match_info["file"])
        overwrite = request.query.get("overwrite", "true") != "false"
        full_info = request.query.get("full_info", "false").lower() == "true"
        if not overwrite and path.exists():
            return web.Response(status=409, text="File already exists")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            staged = await receive_body(request, path.parent, limit)
            try:
                install(staged, path, overwrite=True)
            finally:
                staged.unlink(missing_ok=True)
        except OSError:
            return web.Response(status=400, reason="Invalid filename. Please avoid special characters like :\\/*?\"<>|")
        return written(path, full_info)

    @routes.delete("/userdata/{file}")
    async def delete_userdata(request: web.Request) -> web.Response:
        path = user_path(request.match_info["file"])
        if not path.is_file():
            return web.Response(status=404)
        os.remove(path)
        return web.Response(status=204)

    @routes.post("/userdata/{file}/move/{dest}")
    async def move_userdata(request: web.Request) -> web.Response:
        source = user_path(request.match_info["file"])
        dest = user_path(request.match_info["dest"])
        if not source.is_file():
            return web.Response(status=404)
        overwrite = request.query.get("overwrite", "true") != "false"
        if not overwrite and dest.exists():
            return web.Response(status=409, text="File already exists")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(dest))
        return written(dest, request.query.get("full_info", "false").lower() == "true")
