"""The object a node receives to talk to the engine while it runs.

Progress, previews and cancellation go through here rather than through globals, so two executors (two
workers, two tests) never see each other's interrupt flag or progress bar.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from .devices import ModelManager
    from .paths import Folders


class Interrupted(Exception):
    """Raised inside a node when the user interrupted the prompt (ComfyUI's InterruptProcessingException)."""


class Reporter(Protocol):
    """The executor's side of a context: where progress goes and whether to stop."""

    def interrupted(self) -> bool: ...

    def request_interrupt(self) -> None: ...

    def report_progress(self, node_id: str, value: float, maximum: float, preview: Any, fmt: str) -> None: ...

    def report_text(self, node_id: str, text: str) -> None: ...


class NodeContext:
    """Per-call context: identity of the node, the prompt it runs in, folders, the model manager and
    compute device, progress."""

    __slots__ = (
        "_reporter",
        "node_id",
        "display_node_id",
        "class_type",
        "prompt_id",
        "prompt",
        "extra_data",
        "folders",
        "models",
    )

    def __init__(
        self,
        reporter: Reporter,
        *,
        node_id: str,
        display_node_id: str,
        class_type: str,
        prompt_id: str,
        prompt: dict[str, Any],
        extra_data: dict[str, Any],
        folders: Folders,
        models: ModelManager,
    ) -> None:
        self._reporter = reporter
        self.node_id = node_id
        self.display_node_id = display_node_id
        self.class_type = class_type
        self.prompt_id = prompt_id
        self.prompt = prompt
        self.extra_data = extra_data
        self.folders = folders
        self.models = models

    @property
    def device(self) -> str:
        """The compute device ("cuda", "mps", "cpu"); resolving it the first time imports torch."""
        return self.models.policy.device

    def interrupt(self) -> None:
        """Stop the prompt this node runs in, as the interrupt route would (the next check raises)."""
        self._reporter.request_interrupt()

    def check_interrupted(self) -> None:
        """Raise :class:`Interrupted` if the prompt was interrupted; call it in long loops."""
        if self._reporter.interrupted():
            raise Interrupted("interrupted by the user")

    def progress(
        self,
        value: float,
        maximum: float,
        preview: Any = None,
        preview_format: Literal["JPEG", "PNG"] = "JPEG",
    ) -> None:
        """Report ``value`` of ``maximum`` steps done, optionally with a preview image (PIL).

        Also a cancellation point: raises :class:`Interrupted` when the prompt was interrupted.
        """
        self.check_interrupted()
        self._reporter.report_progress(self.node_id, value, maximum, preview, preview_format)

    def text(self, text: str) -> None:
        """Show a line of text under the node in the canvas (ComfyUI's progress text)."""
        self._reporter.report_text(self.node_id, text)


# The context of the node running in this thread, for code that has no parameter to receive it: ComfyUI
# packs call module functions (comfy.utils.ProgressBar, model_management.throw_exception_if_…).
_CURRENT: ContextVar[NodeContext | None] = ContextVar("inkgraph_node_context", default=None)


def current_context() -> NodeContext | None:
    return _CURRENT.get()


@contextmanager
def running(ctx: NodeContext | None) -> Iterator[None]:
    token = _CURRENT.set(ctx)
    try:
        yield
    finally:
        _CURRENT.reset(token)
