"""The API-format prompt ("workflow" as the server runs it): node id → class_type + inputs.

ComfyUI's rules, kept exactly: an input value is a link when it is a list of length 2 whose first item is
a string and whose second is a number; anything else is a constant, and a constant that is itself a list
travels wrapped as ``{"__value__": [...]}``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel


class PromptNode(BaseModel):
    """One node of an API prompt. Unknown keys (``is_changed``, client extras) are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    class_type: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    meta: dict[str, Any] | None = Field(default=None, alias="_meta")

    @property
    def title(self) -> str | None:
        title = (self.meta or {}).get("title")
        return title if isinstance(title, str) else None


class ApiPrompt(RootModel[dict[str, PromptNode]]):
    """A whole API prompt."""


def is_link(value: Any) -> bool:
    """ComfyUI's link test: ``[node_id: str, slot: int | float]``."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], (int, float))
        and not isinstance(value[1], bool)
    )


def unwrap_constant(value: Any) -> Any:
    """``{"__value__": x}`` → ``x`` (how a list constant is told apart from a link)."""
    if isinstance(value, dict) and len(value) == 1 and "__value__" in value:
        return value["__value__"]
    return value


def unwrap_prompt(data: Any) -> Any:
    """Accept both a bare prompt and a POST /prompt body (``{"prompt": {...}, ...}``)."""
    if isinstance(data, dict) and isinstance(data.get("prompt"), dict) and all(
        k in {"prompt", "client_id", "prompt_id", "extra_data", "front", "number", "partial_execution_targets"}
        for k in data
    ):
        return data["prompt"]
    return data
