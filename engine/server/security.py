"""Security by default: a token whenever the server is reachable from other machines, and, on loopback, only
loopback host names and the server's own origin (a web page the user visits must not drive their local server).

ComfyUI refuses a request only when its Host is loopback and its Origin names another host. That lets
through what browsers send in practice: ``Origin: null`` (sandboxed frames, ``file://`` pages), Host names
that resolve to loopback without being spelled as such (``localhost.``, ``foo.localhost``, ``127.1``,
``0.0.0.0``), and DNS rebinding, where an attacker's name resolves to 127.0.0.1 and Host and Origin agree on
it. Here, without a token, a request is served only when its Host is ``localhost``, ``127.0.0.1`` or
``[::1]`` (with any port), and any request that carries an Origin must come from exactly the server's own.
Clients that send no Origin (scripts, ComfyUI's API clients) are unaffected; so are pages the server itself
serves, whose Origin is its own.
"""

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
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost (what ``--listen`` binds to, not what a Host header says)."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _name_and_port(netloc: str, scheme: str) -> tuple[str, int] | None:
    """(lower-case host name, port) of ``host[:port]``, the port defaulting to the scheme's; None if unparsable."""
    try:
        parsed = urlsplit("//" + netloc)
        name, port = parsed.hostname, parsed.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    if not name or parsed.username is not None or parsed.password is not None:
        return None
    return name, port if port is not None else DEFAULT_PORTS.get(scheme, 80)


def loopback_host(host: str, listen: str = "127.0.0.1") -> bool:
    """A Host header that names this machine's loopback literally (``localhost``, ``127.0.0.1``, ``[::1]``)
    or the exact address the server listens on (``--listen 127.0.0.2``)."""
    found = _name_and_port(host, "http")
    return found is not None and (found[0] in LOOPBACK_NAMES or found[0] == listen.strip("[]").lower())


def cross_origin(host: str, origin: str) -> bool:
    """True unless ``origin`` is exactly the origin the request was sent to (scheme http(s), same host, same
    port, ports defaulting by scheme). ``null``, ``file://`` and anything unparsable are cross-origin."""
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return True
    if parsed.scheme not in ("http", "https") or parsed.path not in ("", "/") or parsed.query:
        return True
    theirs = _name_and_port(parsed.netloc, parsed.scheme)
    ours = _name_and_port(host, parsed.scheme)
    return theirs is None or ours is None or theirs != ours


def _same(given: str, token: str) -> bool:
    """Constant-time comparison that also takes non-ASCII text (``hmac.compare_digest`` raises on it)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass"))


def _token_ok(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and _same(header[7:].strip(), token):
        return True
    query = request.query.get("token")
    return request.method == "GET" and query is not None and _same(query, token)


def _forbidden(text: str) -> web.Response:
    return web.Response(status=403, text=f"Forbidden: {text}")


def _cors_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, GET, DELETE, PUT, OPTIONS, PATCH",
            "Access-Control-Allow-Headers": "Content-Type, Authorization", "Access-Control-Allow-Credentials": "true"}


def security_middleware(config: ServerConfig) -> Any:
    body_limit = int(config.max_upload_mb * 1024 * 1024)

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
        if not config.auth_token and host is not None and not loopback_host(host, config.listen):
            return _forbidden("this server answers only to localhost, 127.0.0.1 and [::1] without an access "
                              "token (see --auth-token)")
        origin = request.headers.get("Origin")
        # --enable-cors-header: the user lets other origins in, as ComfyUI does; otherwise only our own
        if origin is not None and not config.cors_origin and (host is None or cross_origin(host, origin)):
            return _forbidden("cross-origin request (its Origin is not this server)")
        length = request.content_length
        if length is not None and length > body_limit:  # refused before a byte of it is read
            response = web.Response(status=413, text=f"The request body ({length} bytes) is larger than this "
                                                     f"server accepts ({config.max_upload_mb} MB, --max-upload-size).")
            response.force_close()
            return response
        return await handler(request)

    return middleware
