"""ComfyUI's ``server`` module for ComfyUI packs: ``PromptServer.instance`` with ``routes`` (aiohttp routes a
pack adds, served by Inkgraph's server under ``/`` and ``/api``), ``app`` (an aiohttp application packs add
routes, static folders and middlewares to while they load; Inkgraph's server serves what it holds),
``send_sync`` (a websocket message to one client or all), and prompt handlers (called with each POST
/prompt body before it is queued)."""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from ..core.events import BinaryEventTypes
from . import STATE
from .stubs import comfy_attribute, stand_in

__all__ = ["BinaryEventTypes", "PromptServer"]

log = logging.getLogger(__name__)


# ComfyUI's PromptServer attributes and methods this one lacks: stand-ins raising when used (see .stubs).
_COMFY_MEMBERS = frozenset({
    "address", "client_session", "custom_node_manager", "internal_routes", "messages", "model_file_manager",
    "number", "port", "prompt_queue", "sockets", "sockets_metadata", "user_manager", "web_root", "add_routes",
    "get_queue_info", "publish_loop", "queue_updated", "send_bytes", "send_image", "send_image_with_metadata",
    "setup", "start", "start_multi_address", "image_save_function", "encode_bytes", "get_dir_by_type"})


class PromptServer:
    instance: PromptServer

    def __init__(self) -> None:
        self.routes = web.RouteTableDef()
        # Packs register on it at import time, before Inkgraph's application exists; it is never run itself.
        self.app = web.Application()
        self.on_prompt_handlers: list[Callable[[dict[str, Any]], dict[str, Any]]] = []
        self.supports = ["custom_nodes_from_web"]

    def __getattr__(self, name: str) -> Any:
        if name in _COMFY_MEMBERS:
            return stand_in(f"server.PromptServer.instance.{name}")
        raise AttributeError(f"'PromptServer' object has no attribute {name!r}")

    @property
    def client_id(self) -> str | None:
        server = STATE.server
        return None if server is None else getattr(server, "last_client_id", None)

    @property
    def last_node_id(self) -> str | None:
        server = STATE.server
        return None if server is None else getattr(server, "last_node_id", None)

    @property
    def loop(self) -> Any:
        server = STATE.server
        return None if server is None else server.loop

    def send_sync(self, event: str | int, data: Any, sid: str | None = None) -> None:
        """A websocket message to ``sid`` or to everyone: JSON for data, a binary frame for bytes (the
        event, an integer as in ComfyUI, goes in front as the frame's type)."""
        server = STATE.server
        if server is None:
            log.debug("send_sync(%r) with no server running: dropped", event)
            return
        if isinstance(data, (bytes, bytearray)):
            frame = (struct.pack(">I", event) if isinstance(event, int) else b"") + bytes(data)
            server.call_in_loop(server.hub.send_bytes, frame, sid, False)
        else:
            server.call_in_loop(server.hub.send_json, event, data, sid)

    async def send(self, event: str, data: Any, sid: str | None = None) -> None:
        self.send_sync(event, data, sid)

    async def send_json(self, event: str, data: Any, sid: str | None = None) -> None:
        self.send_sync(event, data, sid)

    def send_progress_text(self, text: str | bytes, node_id: str, sid: str | None = None) -> None:
        """Text under a node (binary frame type 3): published like a native node's ``ctx.text``, so it
        reaches only the clients that negotiated feature flags, and the CLI's event stream."""
        server = STATE.server
        if server is None:
            return
        from ..core.context import current_context
        from ..core.events import ProgressText

        ctx = current_context()
        shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        event = ProgressText(prompt_id=ctx.prompt_id if ctx is not None else "", node_id=str(node_id), text=shown)
        server.runtime.bus.publish(event, sid if sid is not None else self.client_id)

    def add_on_prompt_handler(self, handler: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.on_prompt_handlers.append(handler)

    def trigger_on_prompt(self, body: dict[str, Any]) -> dict[str, Any]:
        for handler in self.on_prompt_handlers:
            try:
                body = handler(body)
            except Exception:
                log.exception("a custom node's prompt handler failed; the prompt goes on unchanged")
        return body


PromptServer.instance = PromptServer()


def __getattr__(name: str) -> Any:
    return comfy_attribute("server", name)


def copy_pack_app(target: web.Application) -> list[tuple[str, Path]]:
    """Serve on ``target`` what packs registered on ``PromptServer.instance.app`` while they loaded: routes,
    middlewares and start-up/clean-up hooks. The static folders they added are returned (URL prefix,
    folder) for the server to serve through its own safe file handler."""
    source = PromptServer.instance.app
    static: list[tuple[str, Path]] = []
    for resource in source.router.resources():
        try:
            if isinstance(resource, web.StaticResource):
                static.append((resource.canonical, Path(resource.get_info()["directory"])))
                continue
            for route in resource:
                target.router.add_route(route.method, resource.canonical, route.handler)
        except (RuntimeError, ValueError) as exc:  # a path Inkgraph (or another pack) already serves
            log.warning("a node pack's route %s was not added: %s", resource.canonical, exc)
    target.middlewares.extend(source.middlewares)
    target.on_startup.extend(source.on_startup)
    target.on_cleanup.extend(source.on_cleanup)
    target.on_shutdown.extend(source.on_shutdown)
    return static
