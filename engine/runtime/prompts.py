"""Running one queued prompt for its history entry: validated again just before it runs (after a restart,
or when files changed since it was queued), so what runs is always checked.

The server's worker thread and every Ray worker call :func:`execute_prompt`, so a prompt's history reads
the same wherever it ran.
"""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Any

from ..core.events import now_ms

if TYPE_CHECKING:
    from . import Runtime


def execute_prompt(runtime: Runtime, prompt: dict[str, Any], prompt_id: str, extra_data: dict[str, Any],
                   client_id: str | None, outputs_to_execute: list[str] | None,
                   preview_method: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Validate a queued prompt again and run it; returns its history entry's outputs, status and meta.

    The local worker and every Ray worker call this, so a prompt's history reads the same wherever it ran.
    """
    result = runtime.validate(prompt, partial_execution_targets=outputs_to_execute or None)
    if not result.ok or result.plan is None:
        body = result.error_body()
        message = f"{body['error']['message']}: {body['error']['details']}" if body["error"] else ""
        return {}, error_status(prompt_id, message), {}
    extra = dict(extra_data)
    if extra.get("preview_method", "default") == "default":
        extra["preview_method"] = preview_method
    outcome = runtime.executor.execute(result.plan, prompt_id, extra, client_id)
    status = {"status_str": outcome.status_str, "completed": outcome.completed,
              "messages": [[name, data] for name, data in outcome.messages]}
    return outcome.outputs, status, outcome.meta


def error_status(prompt_id: str, message: str, exception_type: str = "ValidationError") -> dict[str, Any]:
    """A history status for a prompt that failed outside any node."""
    return {"status_str": "error", "completed": False, "messages": [["execution_error", {
        "prompt_id": prompt_id, "node_id": "", "node_type": "", "executed": [], "exception_message": message,
        "exception_type": exception_type, "traceback": traceback.format_stack(limit=0), "current_inputs": {},
        "current_outputs": [], "timestamp": now_ms()}]]}
