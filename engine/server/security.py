"""Security by default: a token whenever the server is reachable from other machines, and ComfyUI's
cross-origin guard on loopback (a web page the user visits must not drive their local server)."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

if TYPE_CHECKING:
    from .app import ServerConfig

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cross_origin(host: str, origin: str) -> bool:
    """ComfyUI's CSRF guard: on a loopback Host, an Origin naming another host (or port) is refused.

    Ports are compared only when both sides carry one, as ComfyUI does for browsers that omit them.
    """
    try:
        host_domain: str | None = host.lower()
        parsed = urlsplit(origin)
        origin_domain: str | None = parsed.netloc.lower()
        host_parsed = urlsplit("//" + (host_domain or ""))
        if not is_loopback(host_parsed.hostname or ""):
            return False
        if parsed.port is None:
            host_domain = host_parsed.hostname
        if host_parsed.port is None:
            origin_domain = parsed.hostname
    except ValueError:  # an unparsable port
        return True
    return bool(host_domain) and bool(origin_domain) and host_domain != origin_domain


def _token_ok(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    query = request.query.get("token")
    return request.method == "GET" and query is not None and hmac.compare_digest(query, token)


def _cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, GET, DELETE, PUT, OPTIONS, PATCH",
            "Access-Control-Allow-Headers": "Content-Type, Authorization", "Access-Control-Allow-Credentials": "true"}


def security_middleware(config: ServerConfig) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if config.cors_origin:  # --enable-cors-header: ComfyUI answers other origins instead of refusing them
            response = web.Response() if request.method == "OPTIONS" else await _guarded(request, handler)
            response.headers.update(_cors_headers(config.cors_origin))
            return response
        return await _guarded(request, handler)

    async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if config.auth_token and not _token_ok(request, config.auth_token):
            return web.json_response({"error": {"type": "unauthorized", "message": "A valid access token is "
                                                "required (Authorization: Bearer <token>, or ?token= on GET).",
                                                "details": "", "extra_info": {}}}, status=401)
        host = request.headers.get("Host")
        origin = request.headers.get("Origin")
        if host and origin and not config.cors_origin and cross_origin(host, origin):
            return web.Response(status=403, text="Forbidden: cross-origin request to a local server")
        response = await handler(request)
        return response

    return middleware
