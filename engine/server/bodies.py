"""Every request body and query the server accepts, as a pydantic model.

A malformed request becomes a 400 with a message saying which field is wrong, never a 500; the same
models document the API (their JSON Schema).
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..core import jsonsafe

M = TypeVar("M", bound=BaseModel)
MAX_JSON_BYTES = web.AppKey("inkgraph_max_json_bytes", int)
DEFAULT_JSON_BYTES = 32 * 1024 * 1024
SQLITE_MAX_INT = 2**63 - 1  # history paging reaches SQLite, whose integers stop here
CHUNK = 1 << 16
_REQUIRED: Any = object()
_BLANK: Any = object()


class Body(BaseModel):
    # Numbers are finite: NaN or Infinity in a stored prompt is JSON no browser can read back.
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


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
    max_items: int | None = Field(default=None, ge=0, le=SQLITE_MAX_INT)
    offset: int = Field(default=-1, ge=-SQLITE_MAX_INT, le=SQLITE_MAX_INT)


class ViewQuery(Body):
    filename: str = Field(min_length=1)
    type: Literal["output", "input", "temp"] = "output"
    subfolder: str = ""
    preview: str | None = None
    channel: Literal["rgba", "rgb", "a"] = "rgba"

    @field_validator("preview")
    @classmethod
    def _preview(cls, value: str | None) -> str | None:
        """ComfyUI's ``format;quality`` (``webp;90``); the quality, when given, is a whole number 0..100."""
        if not value:
            return None
        _, _, quality = value.partition(";")
        if quality and not (quality.isascii() and quality.isdigit() and len(quality) <= 3 and int(quality) <= 100):
            raise ValueError("the quality after ';' must be a whole number from 0 to 100, as in 'webp;90'")
        return value


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


def too_large(limit: int) -> web.HTTPRequestEntityTooLarge:
    """413, and the connection closes: the rest of the body is never read."""
    error = web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=limit + 1,
                                          text=f"The request body is larger than this server accepts here "
                                               f"({limit} bytes).")
    error.force_close()
    return error


async def read_body(request: web.Request, limit: int) -> bytearray:
    """The body, refused on ``Content-Length`` before reading and while reading beyond ``limit`` bytes.

    aiohttp's own ``read()`` keeps what it read in the frame its 413 is raised from; that frame and the
    response form a reference cycle, so each refused body stayed in memory until a full collection.
    """
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    buffer = bytearray()
    async for chunk in request.content.iter_chunked(CHUNK):
        if len(buffer) + len(chunk) > limit:
            buffer = bytearray()  # freed here, not whenever the traceback that would hold it is collected
            raise too_large(limit)
        buffer += chunk
    return buffer


async def read_json(request: web.Request, *, empty: Any = _REQUIRED) -> Any:
    """The body as JSON through :func:`jsonsafe.loads` (bounded size and nesting, finite numbers, valid
    Unicode): the one door every JSON route goes through. A blank body is ``empty`` when given, else a 400."""
    raw = await read_body(request, request.config_dict.get(MAX_JSON_BYTES, DEFAULT_JSON_BYTES))
    if not raw.strip():
        if empty is _REQUIRED:
            raise bad_request("The request body is empty; JSON is expected.")
        return empty
    try:
        return jsonsafe.loads(raw)
    except jsonsafe.JSONRejected as exc:
        raise bad_request(f"The request body was refused: {exc}.", str(exc)) from None


async def parse_json(request: web.Request, model: type[M], *, allow_empty: bool = False) -> M:
    """The request's JSON body as ``model``; 400 with a precise message otherwise."""
    data = await read_json(request, empty=_BLANK if allow_empty else _REQUIRED)
    if data is _BLANK:
        return model()
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
