"""Workflow conversion for the canvas and API clients (Inkgraph's own route): UI ↔ API format."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..core.formats import api_to_ui, is_ui_workflow, ui_to_api
from ..core.resources import workflows_folder
from ..core.workflow import unwrap_prompt
from .bodies import ConvertRequest, bad_request, parse_json

if TYPE_CHECKING:
    from .app import PromptServer

DEFAULTS = ("txt2img.ui.json", "txt2img.json", "quickstart.json")  # the first that exists opens by default


def add_routes(routes: web.RouteTableDef, server: PromptServer) -> None:
    spec_of = server.runtime.registry.get

    def convert(body: ConvertRequest) -> dict[str, Any]:
        data = unwrap_prompt(body.workflow)
        is_ui = is_ui_workflow(data)
        if body.to == "api":
            prompt, warnings = ui_to_api(data, spec_of) if is_ui else (data, [])
            return {"prompt": prompt, "warnings": warnings}
        return {"workflow": data if is_ui else api_to_ui(data, spec_of), "warnings": []}

    @routes.get("/workflow/default")
    async def get_default(request: web.Request) -> web.Response:
        """The workflow the canvas opens first, in UI format."""
        folder = workflows_folder()
        for name in DEFAULTS:
            path = folder / name if folder is not None else None
            if path is not None and path.is_file():
                data = unwrap_prompt(json.loads(path.read_text(encoding="utf-8")))
                return web.json_response(data if is_ui_workflow(data) else api_to_ui(data, spec_of))
        return web.json_response({"nodes": [], "links": [], "version": 0.4})

    @routes.post("/workflow/convert")
    async def post_convert(request: web.Request) -> web.Response:
        """``{"workflow": <UI or API JSON>, "to": "api" | "ui"}`` → ``{"prompt" | "workflow", "warnings"}``."""
        body = await parse_json(request, ConvertRequest)
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, convert, body)
        except (ValueError, TypeError, KeyError) as exc:
            raise bad_request("The workflow could not be converted.", str(exc)) from exc
        return web.json_response(result)
