"""The jobs API (``/api/jobs``): one view over pending, running and finished prompts, as ComfyUI's.

A job summarises a queue item or a history entry: status, priority, times taken from the status
messages, the error if it failed, how many outputs it made and which one to preview.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..core.queue import QueueItem, as_number
from .bodies import read_json

if TYPE_CHECKING:
    from .app import PromptServer

STATUSES = ("pending", "in_progress", "completed", "failed", "cancelled")  # cancelled: interrupted (newer ComfyUI)


def finished_status(entry: dict[str, Any]) -> str:
    """completed, failed, or cancelled (the prompt was interrupted) for a history entry."""
    status_info = entry.get("status") or {}
    if any(isinstance(m, (list, tuple)) and m and m[0] == "execution_interrupted"
           for m in status_info.get("messages", [])):
        return "cancelled"
    return "failed" if status_info.get("status_str") == "error" else "completed"
PREVIEWABLE = frozenset({"images", "video", "audio"})
THREE_D = (".obj", ".fbx", ".gltf", ".glb")


class JobsQuery(BaseModel):
    """GET /api/jobs query, with ComfyUI's error messages."""

    model_config = ConfigDict(extra="ignore")
    status: list[str] | None = None
    workflow_id: str | None = None
    sort_by: str = "created_at"
    sort_order: str = "desc"
    limit: int | None = None
    offset: int = 0

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> list[str] | None:
        if not value:
            return None
        statuses = [s.strip().lower() for s in str(value).split(",") if s.strip()]
        invalid = [s for s in statuses if s not in STATUSES]
        if invalid:
            raise ValueError(f"Invalid status value(s): {', '.join(invalid)}. Valid values: {', '.join(STATUSES)}")
        return statuses

    @field_validator("sort_by", mode="before")
    @classmethod
    def _sort_by(cls, value: Any) -> str:
        if str(value).lower() not in ("created_at", "execution_duration"):
            raise ValueError("sort_by must be 'created_at' or 'execution_duration'")
        return str(value).lower()

    @field_validator("sort_order", mode="before")
    @classmethod
    def _sort_order(cls, value: Any) -> str:
        if str(value).lower() not in ("asc", "desc"):
            raise ValueError("sort_order must be 'asc' or 'desc'")
        return str(value).lower()

    @field_validator("limit", mode="before")
    @classmethod
    def _limit(cls, value: Any) -> int:
        try:
            limit = int(value)
        except (TypeError, ValueError) as exc:
            raise ValueError("limit must be an integer") from exc
        if limit <= 0:
            raise ValueError("limit must be a positive integer")
        return limit

    @field_validator("offset", mode="before")
    @classmethod
    def _offset(cls, value: Any) -> int:
        try:
            return max(0, int(value))
        except (TypeError, ValueError) as exc:
            raise ValueError("offset must be an integer") from exc


def _metadata(extra_data: dict[str, Any]) -> tuple[Any, Any]:
    pnginfo = extra_data.get("extra_pnginfo") or {}
    workflow = pnginfo.get("workflow") if isinstance(pnginfo, dict) else None
    return extra_data.get("create_time"), workflow.get("id") if isinstance(workflow, dict) else None


def _prune(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if v is not None}


def queue_job(item: QueueItem, status: str) -> dict[str, Any]:
    create_time, workflow_id = _metadata(item.extra_data)
    return _prune({"id": item.prompt_id, "status": status, "priority": as_number(item.number),
                   "create_time": create_time, "outputs_count": 0, "workflow_id": workflow_id})


def _previewable(media_type: str, item: dict[str, Any]) -> bool:
    fmt = str(item.get("format", ""))
    return (media_type in PREVIEWABLE or fmt.startswith(("video/", "audio/"))
            or str(item.get("filename", "")).lower().endswith(THREE_D))


def outputs_summary(outputs: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """Count output items; prefer an ``output``-type previewable item for the preview."""
    count, preview, fallback = 0, None, None
    for node_id, node_outputs in outputs.items():
        if not isinstance(node_outputs, dict):
            continue
        for media_type, items in node_outputs.items():
            if media_type == "animated" or not isinstance(items, list):
                continue
            for item in items:
                if not isinstance(item, dict):
                    continue
                count += 1
                if preview is None and _previewable(media_type, item):
                    enriched = {**item, "nodeId": node_id, "mediaType": media_type}
                    if item.get("type") == "output":
                        preview = enriched
                    elif fallback is None:
                        fallback = enriched
    return count, preview or fallback


def history_job(prompt_id: str, entry: dict[str, Any], full: bool = False) -> dict[str, Any]:
    number, _, prompt, extra_data, _ = entry["prompt"]
    create_time, workflow_id = _metadata(extra_data)
    status_info = entry.get("status") or {}
    status = finished_status(entry)
    count, preview = outputs_summary(entry.get("outputs") or {})
    error = start = end = None
    for message in status_info.get("messages", []):
        if isinstance(message, (list, tuple)) and len(message) >= 2 and isinstance(message[1], dict):
            name, data = message[0], message[1]
            if name == "execution_start":
                start = data.get("timestamp")
            elif name in ("execution_success", "execution_error", "execution_interrupted"):
                end = data.get("timestamp")
                if name == "execution_error":
                    error = data
    job = _prune({"id": prompt_id, "status": status, "priority": number, "create_time": create_time,
                  "execution_start_time": start, "execution_end_time": end, "execution_error": error,
                  "outputs_count": count, "preview_output": preview, "workflow_id": workflow_id})
    if full:
        job["outputs"] = entry.get("outputs") or {}
        job["execution_status"] = status_info
        job["workflow"] = {"prompt": prompt, "extra_data": extra_data}
    return job


def _sort_key(sort_by: str) -> Any:
    if sort_by == "execution_duration":
        def duration(job: dict[str, Any]) -> float:
            start, end = job.get("execution_start_time", 0), job.get("execution_end_time", 0)
            return end - start if end and start else 0
        return duration
    return lambda job: job.get("create_time", 0)


def add_routes(routes: web.RouteTableDef, server: PromptServer) -> None:
    queue = server.queue

    def cancel(job_id: str) -> bool:
        if queue.delete(job_id):
            return True
        return server.worker.interrupt(job_id)  # only if it is the one running now

    @routes.get("/api/jobs")
    async def list_jobs(request: web.Request) -> web.Response:
        try:
            query = JobsQuery.model_validate(dict(request.query))
        except ValidationError as exc:
            return web.json_response({"error": str(exc.errors()[0]["ctx"]["error"])
                                      if "ctx" in exc.errors()[0] else exc.errors()[0]["msg"]}, status=400)
        wanted = set(query.status or STATUSES)
        jobs: list[dict[str, Any]] = []
        if "in_progress" in wanted:
            jobs += [queue_job(i, "in_progress") for i in queue.running()]
        if "pending" in wanted:
            jobs += [queue_job(i, "pending") for i in queue.pending()]
        if wanted & {"completed", "failed", "cancelled"}:
            for prompt_id, entry in queue.history().items():
                if finished_status(entry) in wanted:
                    jobs.append(history_job(prompt_id, entry))
        if query.workflow_id:
            jobs = [j for j in jobs if j.get("workflow_id") == query.workflow_id]
        jobs.sort(key=_sort_key(query.sort_by), reverse=query.sort_order == "desc")
        total = len(jobs)
        page = jobs[query.offset:]
        if query.limit is not None:
            page = page[:query.limit]
        return web.json_response({"jobs": page, "pagination": {
            "offset": query.offset, "limit": query.limit, "total": total,
            "has_more": query.offset + len(page) < total}})

    @routes.get("/api/jobs/{job_id}")
    async def get_job(request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        found = queue.history(prompt_id=job_id)
        if found:
            return web.json_response(history_job(job_id, found[job_id], full=True))
        for status, items in (("in_progress", queue.running()), ("pending", queue.pending())):
            for item in items:
                if item.prompt_id == job_id:
                    return web.json_response(queue_job(item, status))
        return web.json_response({"error": "Job not found"}, status=404)

    @routes.post("/api/jobs/{job_id}/cancel")
    async def cancel_one(request: web.Request) -> web.Response:
        return web.json_response({"cancelled": cancel(request.match_info["job_id"])})

    @routes.post("/api/jobs/cancel")
    async def cancel_many(request: web.Request) -> web.Response:
        try:
            data = await read_json(request)
        except web.HTTPBadRequest:  # ComfyUI's shape for this route's errors
            return web.json_response({"error": "Request body must be valid JSON"}, status=400)
        job_ids = data.get("job_ids") if isinstance(data, dict) else None
        if not isinstance(job_ids, list):
            return web.json_response({"error": "job_ids must be a list"}, status=400)
        invalid = [j if isinstance(j, str) else repr(j) for j in job_ids
                   if not isinstance(j, str) or not j or len(j) > 200]
        if invalid:
            return web.json_response({"error": "job_ids contains invalid id(s)", "invalid_ids": invalid},
                                     status=400)
        results = [cancel(job_id) for job_id in job_ids]
        return web.json_response({"cancelled": any(results)})
