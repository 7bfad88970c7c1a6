"""The server: one runtime, one persistent queue, one worker thread, websocket clients, and the routes.

``PromptServer`` owns the pieces and the cross-thread plumbing (the executor publishes events on the
worker thread; websocket sends happen on the event loop). Routes live in the ``routes_*`` modules, one
concern each, and are registered under both ``/PATH`` and ``/api/PATH`` as ComfyUI does.
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..core.events import Event, Executing, ProgressText
from ..core.events import PreviewImage as PreviewEvent
from ..core.queue import PromptQueue, QueueItem
from ..core.resources import web_root
from ..core.settings import Settings
from ..runtime import Runtime
from . import (
    routes_files,
    routes_frontend,
    routes_info,
    routes_jobs,
    routes_queue,
    routes_templates,
    routes_user,
    routes_workflows,
)
from .bodies import MAX_JSON_BYTES
from .hub import Client, Hub, Preview, TextFrame
from .security import is_loopback, security_middleware

if TYPE_CHECKING:
    from ..scaleout.dispatcher import Dispatcher
    from ..scaleout.pool import RayOptions

log = logging.getLogger(__name__)

# Sent to a client only when its prompt carried a client_id, as ComfyUI does (others are broadcast).
CLIENT_ONLY = frozenset({"executing", "executed", "execution_start", "execution_cached", "execution_success",
                         "execution_error"})


def comfyui_frontend_root() -> Path:
    """The static build of ComfyUI's official frontend (PyPI ``comfyui-frontend-package``)."""
    try:
        import comfyui_frontend_package  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError as exc:
        raise RuntimeError("--frontend comfyui needs ComfyUI's frontend package: "
                           "pip install 'inkgraph[comfyui-frontend]'") from exc
    root = Path(comfyui_frontend_package.__file__).parent / "static"
    if not (root / "index.html").is_file():
        raise RuntimeError(f"comfyui-frontend-package is installed but {root} has no index.html")
    return root


@dataclass
class ServerConfig:
    """``inkgraph serve``: the engine's :class:`Settings` plus what only the server has."""

    settings: Settings = field(default_factory=Settings)
    listen: str = "127.0.0.1"  # one address, or several comma-separated (ComfyUI's --listen 0.0.0.0,::)
    port: int = 8188
    auth_token: str | None = None
    max_upload_mb: float = 100
    max_json_mb: int = 32  # JSON bodies (prompts with their workflow): parsed in memory, so bounded apart
    preview_size: int = 512
    max_history: int = 10_000
    web_root: Path | None = field(default_factory=web_root)
    frontend: str = "inkgraph"  # or "comfyui": ComfyUI's official frontend from comfyui-frontend-package
    ray: RayOptions | None = None  # run prompts on Ray worker actors (``--ray``) instead of in this process
    front_end_root: Path | None = None  # a built frontend to serve at / (ComfyUI's --front-end-root)
    cors_origin: str | None = None  # answer cross-origin requests from it ("*": any; --enable-cors-header)
    database_url: str | None = None  # the queue and history database, sqlite:///PATH (--database-url)
    multi_user: bool = False  # per-user settings and files, by the comfy-user header (--multi-user)
    quiet: bool = False  # do not print the listening address (--dont-print-server)
    generated_token: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.front_end_root is not None:
            root = Path(self.front_end_root).expanduser()
            if not root.is_dir():
                raise RuntimeError(f"--front-end-root {root} is not a folder")
            self.web_root = root.resolve()
        elif self.frontend == "comfyui":
            self.web_root = comfyui_frontend_root()
        elif self.frontend != "inkgraph":
            raise ValueError(f"unknown frontend {self.frontend!r}: 'inkgraph' or 'comfyui'")
        self.database_path()  # a URL Inkgraph cannot use is refused before anything starts
        # Binding beyond loopback without a token would expose the machine: make one up and say so.
        if not all(is_loopback(host) for host in self.hosts) and not self.auth_token:
            self.auth_token = secrets.token_urlsafe(24)
            self.generated_token = True

    @property
    def hosts(self) -> list[str]:
        return [host.strip() for host in self.listen.split(",") if host.strip()]

    def database_path(self) -> Path | None:
        """Where ``--database-url`` puts the queue and history (None: the default file)."""
        if self.database_url is None:
            return None
        prefix = "sqlite:///"
        if not self.database_url.startswith(prefix):
            raise RuntimeError(f"--database-url {self.database_url!r}: Inkgraph keeps its queue and history in "
                               "SQLite; give sqlite:///PATH or sqlite:///:memory:")
        return Path(self.database_url[len(prefix):])


class PromptServer:
    def __init__(self, config: ServerConfig, runtime: Runtime | None = None) -> None:
        from .worker import Worker

        self.config = config
        self.runtime = runtime or Runtime.create(config.settings)
        self.queue = PromptQueue(config.database_path() or self.runtime.folders.user / "inkgraph.db",
                                 max_history=config.max_history)
        self.hub = Hub(self.feature_flags, self._on_connect)
        self.worker: Worker | Dispatcher = self._ray_dispatcher(config.ray) if config.ray else Worker(self)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.last_node_id: str | None = None  # the newest running node of any prompt (plugins read it)
        # prompt id → (its client, its running node): several prompts run at once under --ray, and a
        # client that reconnects is told the node of *its* prompt
        self._executing: dict[str, tuple[str | None, str]] = {}
        self._executing_lock = threading.Lock()
        self.unload_hooks: list[Callable[[], None]] = [self.runtime.models.unload_all]
        self.number = self.queue.next_number()
        self._outbox: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._outbox_lock = threading.Lock()
        self._outbox_scheduled = False
        self.runtime.bus.subscribe(self._on_event)
        self.log_buffer = routes_frontend.LogBuffer()
        self.log_buffer.on_entry = self._send_log
        from .. import compat

        if compat.active():  # ComfyUI packs talk to "the" server through PromptServer.instance
            compat.STATE.server = self
        # The status is read when the queue changes, not when the loop gets round to sending it: a prompt
        # that finishes in between must not have its "queue empty" overtake its own progress messages.
        self.queue.listeners.append(lambda: self.call_in_loop(self.hub.send_json, "status", self.status_data()))

    def _ray_dispatcher(self, options: RayOptions) -> Dispatcher:
        """Workers on Ray that see this server's models and node packs (when their machine has the folders)."""
        from ..scaleout.dispatcher import Dispatcher
        from ..scaleout.pool import WorkerPool, worker_settings

        folders = self.runtime.folders
        pool = WorkerPool(options, worker_settings(options, self.runtime.settings, folders))
        return Dispatcher(self.queue, pool, folders, self.runtime.bus.publish, self.prompt_finished)

    def prompt_finished(self, item: QueueItem) -> None:
        """After a prompt's history entry is committed: ``executing`` with node null (ComfyUI's end signal)."""
        with self._executing_lock:
            self._executing.pop(item.prompt_id, None)
            self.last_node_id = next((node for _, node in reversed(self._executing.values())), None)
        client_id = item.extra_data.get("client_id")
        if client_id:
            self.call_in_loop(self.hub.send_json, "executing", {"node": None, "prompt_id": item.prompt_id}, client_id)

    # -- threads → loop -----------------------------------------------------------------------------
    def call_in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the event loop, from any thread.

        Calls are batched: only the first call into an empty outbox wakes the loop, which then runs
        everything queued so far. A prompt publishes several events per node; waking the loop (and
        trading the GIL) for each one cost more than running the nodes.
        """
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        with self._outbox_lock:
            self._outbox.append((fn, args))
            if self._outbox_scheduled:
                return
            self._outbox_scheduled = True
        loop.call_soon_threadsafe(self._drain_outbox)

    def _drain_outbox(self) -> None:
        with self._outbox_lock:
            calls = list(self._outbox)
            self._outbox.clear()
            self._outbox_scheduled = False
        for fn, args in calls:
            try:
                fn(*args)
            except Exception:
                log.exception("delivering %r failed", fn)

    def _on_event(self, event: Event, target: str | None) -> None:
        """Executor thread: apply ComfyUI's routing, encode previews here, hand the rest to the loop."""
        if isinstance(event, Executing) and event.node is not None:
            with self._executing_lock:
                self._executing[event.prompt_id] = (target, event.node)
                self.last_node_id = event.node
        if target is None and event.type in CLIENT_ONLY:
            return
        if not self.hub.clients:
            return
        if isinstance(event, PreviewEvent):
            preview = self._encode_preview(event)
            if preview is not None:
                self.call_in_loop(self.hub.send_preview, preview, target)
        elif isinstance(event, ProgressText):
            self.call_in_loop(self.hub.send_progress_text, TextFrame(event.node_id, event.text), target)
        else:
            self.call_in_loop(self.hub.send_text, event.message_json(), target)

    def _encode_preview(self, event: PreviewEvent) -> Preview | None:
        from PIL import Image, ImageOps

        image = event.image
        if not isinstance(image, Image.Image):
            log.warning("preview from node %s is not a PIL image; skipped", event.node_id)
            return None
        size = event.max_size or self.config.preview_size
        image = ImageOps.contain(image, (size, size))
        buffer = io.BytesIO()
        if event.image_format == "PNG":
            image.save(buffer, format="PNG", compress_level=1)
        else:
            image.convert("RGB").save(buffer, format="JPEG", quality=95)
        metadata = {"node_id": event.node_id, "prompt_id": event.prompt_id,
                    "display_node_id": event.display_node_id, "parent_node_id": None,
                    "real_node_id": event.node_id}
        return Preview(buffer.getvalue(), event.image_format, metadata)

    # -- status -------------------------------------------------------------------------------------
    def status_data(self, sid: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"status": {"exec_info": {"queue_remaining": self.queue.tasks_remaining()}}}
        if sid is not None:
            data["sid"] = sid
        return data

    def _on_connect(self, client: Client) -> None:
        self.hub.send_json("status", self.status_data(client.sid), client.sid)
        with self._executing_lock:
            nodes = [node for sid, node in self._executing.values() if sid == client.sid]
        for node in nodes:  # a reconnecting client learns where its running prompt is (ComfyUI's form)
            self.hub.send_json("executing", {"node": node}, client.sid)

    def _send_log(self, entry: dict[str, str]) -> None:
        """A new log line, to the clients that opened the frontend's console (any thread)."""
        data = {"entries": [entry], "size": {"cols": 120, "rows": 40}}
        for sid in list(self.log_buffer.subscribers):
            self.call_in_loop(self.hub.send_json, "logs", data, sid)

    def on_prompt(self, body: dict[str, Any]) -> dict[str, Any]:
        """ComfyUI packs' prompt handlers (``PromptServer.instance.add_on_prompt_handler``), in order."""
        shim = sys.modules.get("inkgraph.engine.compat.server")
        if shim is None or not shim.PromptServer.instance.on_prompt_handlers:
            return body
        result: dict[str, Any] = shim.PromptServer.instance.trigger_on_prompt(body)
        return result

    def feature_flags(self) -> dict[str, Any]:
        return {"supports_preview_metadata": True, "max_upload_size": int(self.config.max_upload_mb * 1024 * 1024)}

    # -- application --------------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[security_middleware(self.config), routes_user.user_middleware(self)],
                              client_max_size=int(self.config.max_upload_mb * 1024 * 1024))
        app[MAX_JSON_BYTES] = int(min(self.config.max_json_mb, self.config.max_upload_mb) * 1024 * 1024)
        routes = web.RouteTableDef()
        routes.get("/ws")(self.hub.handle)
        for module in (routes_queue, routes_jobs, routes_files, routes_info, routes_workflows, routes_user,
                       routes_frontend, routes_templates):
            module.add_routes(routes, self)
        tables = [routes]
        shim = sys.modules.get("inkgraph.engine.compat.server")
        if shim is not None:  # routes ComfyUI packs added through PromptServer.instance.routes and .app
            tables.append(shim.PromptServer.instance.routes)
        static: list[tuple[str, Path]] = []
        for table in tables:
            for route in table:
                if isinstance(route, web.StaticDef):  # served by our own file handler, never aiohttp's
                    static.append((route.prefix, Path(route.path)))
                    continue
                if not isinstance(route, web.RouteDef):
                    continue
                app.router.add_route(route.method, route.path, route.handler, **route.kwargs)
                if not route.path.startswith("/api/"):
                    app.router.add_route(route.method, "/api" + route.path, route.handler, **route.kwargs)
        if shim is not None:
            static += shim.copy_pack_app(app)
        for prefix, folder in dict(reversed(static)).items():  # a prefix added twice: the first one wins
            routes_info.serve_folder(app, prefix.rstrip("/"), folder)
        for name, directory in self.runtime.registry.web_directories().items():
            routes_info.serve_folder(app, f"/extensions/{name}", directory)
        routes_info.add_static(app, self)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_startup(self, app: web.Application) -> None:
        self.loop = asyncio.get_running_loop()
        logging.getLogger().addHandler(self.log_buffer)
        self.worker.start()

    async def _on_shutdown(self, app: web.Application) -> None:
        for client in list(self.hub.clients.values()):
            await client.ws.close()
        await asyncio.get_running_loop().run_in_executor(None, self.worker.stop)
        self.queue.close()
        logging.getLogger().removeHandler(self.log_buffer)

    def next_number(self, front: bool) -> float:
        number = self.number
        self.number += 1
        return -number if front else number


def serve(config: ServerConfig) -> None:
    """Run until interrupted (``inkgraph serve``)."""
    import gc

    server = PromptServer(config)
    app = server.make_app()
    gc.freeze()  # everything imported so far lives as long as the process: keep it out of collections
    hosts = config.hosts
    if not config.quiet:
        for host in hosts:
            shown = f"[{host}]" if ":" in host else host
            print(f"Inkgraph listening on http://{shown}:{config.port}", flush=True)  # noqa: T201
    if config.generated_token:
        print(f"Access token (send as 'Authorization: Bearer <token>' or ?token=): {config.auth_token}",  # noqa: T201
              flush=True)
    from ..runtime.packs import pack_summary

    log.info(pack_summary(server.runtime.registry))
    for prompt_id in server.queue.recovered_failures:
        log.warning("prompt %s was running when the server stopped; recorded as failed", prompt_id)
    web.run_app(app, host=hosts if len(hosts) > 1 else hosts[0], port=config.port, print=None, access_log=None)
