"""Every request body and query the server accepts, as a pydantic model.

A malformed request becomes a 400 with a message saying which field is wrong, never a 500; the same
models document the API (their JSON Schema).
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

M = TypeVar("M", bound=BaseModel)


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PromptRequest(Body):
    """POST /prompt. ``prompt`` is validated by the engine (ComfyUI's error vocabulary), not here."""

    prompt: Any = None
    client_id: str | None = None
    prompt_id: str | None = None
    extra_data: dict[str, Any] = Field(default_factory=dict)
    front: bool = False
    number: float | None = None
    partial_execution_targets: list[str] | None = None

    @field_validator("prompt_id")
    @classmethod
    def _prompt_id(cls, value: str | None) -> str | None:
        if value is not None and (not value or len(value) > 200):
            raise ValueError("prompt_id must be a non-empty string of at most 200 characters")
        return value


class ConvertRequest(Body):
    """POST /workflow/convert: a workflow in either format, and the format wanted."""

    workflow: dict[str, Any]
    to: Literal["api", "ui"] = "api"


class QueueAction(Body):
    """POST /queue and POST /history."""

    clear: bool = False
    delete: list[str] = Field(default_factory=list)


class InterruptRequest(Body):
    prompt_id: str | None = None


class FreeRequest(Body):
    unload_models: bool = False
    free_memory: bool = False


class HistoryQuery(Body):
    max_items: int | None = Field(default=None, ge=0)
    offset: int = -1


class ViewQuery(Body):
    filename: str = Field(min_length=1)
    type: Literal["output", "input", "temp"] = "output"
    subfolder: str = ""
    preview: str | None = None
    channel: Literal["rgba", "rgb", "a"] = "rgba"


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def bad_request(message: str, details: str = "", type_: str = "invalid_request") -> web.HTTPBadRequest:
    """A 400 whose body has ComfyUI's error shape, so clients that show ``error.message`` say why."""
    return web.HTTPBadRequest(
        text=web.json_response({"error": {"type": type_, "message": message, "details": details,
                                          "extra_info": {}}, "node_errors": {}}).text,
        content_type="application/json")


async def parse_json(request: web.Request, model: type[M], *, allow_empty: bool = False) -> M:
    """The request's JSON body as ``model``; 400 with a precise message otherwise."""
    raw = await request.read()
    if not raw.strip():
        if allow_empty:
            return model()
        raise bad_request("The request body is empty; a JSON object is expected.")
    try:
        import json

        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("The request body is not valid JSON.", str(exc)) from exc
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.", f"got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise bad_request("The request body has invalid fields.", _describe(exc)) from exc


def parse_query(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise bad_request("The query string has invalid parameters.", _describe(exc)) from exc
