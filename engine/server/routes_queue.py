"""Prompts, queue, history, interrupt and free: the routes every ComfyUI client uses."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from ..core.queue import QueueItem, as_number, split_sensitive
from .bodies import (
    FreeRequest,
    HistoryQuery,
    InterruptRequest,
    PromptRequest,
    QueueAction,
    parse_json,
    parse_query,
)

if TYPE_CHECKING:
    from .app import PromptServer

log = logging.getLogger(__name__)


def add_routes(routes: web.RouteTableDef, server: PromptServer) -> None:
    queue = server.queue

    @routes.get("/prompt")
    async def get_prompt(request: web.Request) -> web.Response:
        return web.json_response({"exec_info": {"queue_remaining": queue.tasks_remaining()}})

    @routes.post("/prompt")
    async def post_prompt(request: web.Request) -> web.Response:
        log.info("got prompt")  # ComfyUI's server log, line for line
        body = await parse_json(request, PromptRequest)
        changed = server.on_prompt(body.model_dump(exclude_unset=True))
        if changed is not None and changed != body.model_dump(exclude_unset=True):
            body = PromptRequest.model_validate(changed)
        if body.prompt is None:
            return web.json_response({"error": {"type": "no_prompt", "message": "No prompt provided",
                                                "details": "No prompt provided", "extra_info": {}},
                                      "node_errors": []}, status=400)
        prompt_id = body.prompt_id or str(uuid.uuid4())
        if any(i.prompt_id == prompt_id for i in queue.pending() + queue.running()):
            return web.json_response({"error": {"type": "invalid_prompt", "message": "prompt_id is already queued",
                                                "details": prompt_id, "extra_info": {}}, "node_errors": {}},
                                     status=400)
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(None, server.runtime.validate, body.prompt,
                                            body.partial_execution_targets)
        if not result.ok or result.plan is None:
            error_body = result.error_body()
            log.warning("invalid prompt: %s", error_body["error"])
            return web.json_response(error_body, status=400)
        number = float(body.number) if body.number is not None else server.next_number(body.front)
        extra_data, sensitive = split_sensitive(body.extra_data)
        if body.client_id is not None:
            extra_data["client_id"] = body.client_id
        extra_data["create_time"] = int(time.time() * 1000)
        queue.put(QueueItem(number=number, prompt_id=prompt_id, prompt=body.prompt, extra_data=extra_data,
                            outputs_to_execute=list(result.plan.outputs), sensitive=sensitive))
        return web.json_response({"prompt_id": prompt_id, "number": as_number(number),
                                  "node_errors": {k: v.model_dump() for k, v in result.node_errors.items()}})

    @routes.get("/queue")
    async def get_queue(request: web.Request) -> web.Response:
        return web.json_response({"queue_running": [i.as_list() for i in queue.running()],
                                  "queue_pending": [i.as_list() for i in queue.pending()]})

    @routes.post("/queue")
    async def post_queue(request: web.Request) -> web.Response:
        body = await parse_json(request, QueueAction)
        if body.clear:
            queue.wipe()
        for prompt_id in body.delete:
            queue.delete(prompt_id)
        return web.Response(status=200)

    @routes.get("/history")
    async def get_history(request: web.Request) -> web.Response:
        query = parse_query(request, HistoryQuery)
        return web.json_response(queue.history(max_items=query.max_items, offset=query.offset))

    @routes.get("/history/{prompt_id}")
    async def get_history_item(request: web.Request) -> web.Response:
        return web.json_response(queue.history(prompt_id=request.match_info["prompt_id"]))

    @routes.post("/history")
    async def post_history(request: web.Request) -> web.Response:
        body = await parse_json(request, QueueAction)
        if body.clear:
            queue.wipe_history()
        for prompt_id in body.delete:
            queue.delete_history(prompt_id)
        return web.Response(status=200)

    @routes.post("/interrupt")
    async def interrupt(request: web.Request) -> web.Response:
        body = await parse_json(request, InterruptRequest, allow_empty=True)
        server.worker.interrupt(body.prompt_id)
        return web.Response(status=200)

    @routes.post("/free")
    async def free(request: web.Request) -> web.Response:
        body = await parse_json(request, FreeRequest, allow_empty=True)
        if body.unload_models:
            queue.set_flag("unload_models", True)
        if body.free_memory:
            queue.set_flag("free_memory", True)
        return web.Response(status=200)
