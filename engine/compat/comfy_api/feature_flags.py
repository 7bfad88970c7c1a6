"""ComfyUI's ``comfy_api.feature_flags``: what this server supports, and what a connected client said it
supports (its first websocket message)."""

from __future__ import annotations

from typing import Any

from ..stubs import comfy_attribute

SERVER_FEATURE_FLAGS: dict[str, Any] = {"supports_preview_metadata": True, "max_upload_size": 100 * 1024 * 1024}


def get_server_features() -> dict[str, Any]:
    from .. import STATE

    server = STATE.server
    return dict(server.feature_flags()) if server is not None else dict(SERVER_FEATURE_FLAGS)


def get_connection_feature(sockets_metadata: dict[str, dict[str, Any]], sid: str, feature_name: str,
                           default: Any = False) -> Any:
    return sockets_metadata.get(sid, {}).get("feature_flags", {}).get(feature_name, default)


def supports_feature(sockets_metadata: dict[str, dict[str, Any]], sid: str, feature_name: str) -> bool:
    return get_connection_feature(sockets_metadata, sid, feature_name, False) is True


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy_api.feature_flags", name)
