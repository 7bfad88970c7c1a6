"""Runs one validated prompt: scheduling, caching, lazy inputs, events, errors and interruption.

The executor is synchronous and meant to run in one worker thread; it talks to the world only through
the :class:`~engine.events.EventBus` and its return value. Scheduling is dynamic, as in ComfyUI: nodes are
requested from the outputs backwards, cached nodes answer at once, a node runs when every input it
needs is available, and a lazy node may ask for more inputs after seeing the ones it has.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
import uuid
from collections import deque
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Literal

from . import events as ev
from .cache import CacheEntry, NullCache, OutputCache
from .context import Interrupted, NodeContext
from .devices import ModelManager
from .expansion import DynamicPrompt, PendingExpansion, add_subgraph, resolve, result_links
from .graph_builder import GraphBuilder
from .mapping import map_over_lists, merge_results
from .paths import Folders
from .results import NodeOutput, ResultError, full_type_name
from .signature import compute_keys, node_key
from .spec import CachePolicy
from .validation import Plan, PlannedNode

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ExecutionOutcome:
    """What a prompt did: the data a history entry is made of."""

    prompt_id: str
    status_str: Literal["success", "error"]
    completed: bool
    messages: list[tuple[str, dict[str, Any]]]
    outputs: dict[str, dict[str, Any]]
    meta: dict[str, dict[str, Any]]
    executed: list[str]
    cached: list[str]
    error: dict[str, Any] | None = None
    interrupted: bool = False


class _NodeFailed(Exception):
    def __init__(self, node_id: str, exc: BaseException, input_lists: dict[str, list[Any]]) -> None:
        super().__init__(str(exc))
        self.node_id = node_id
        self.exc = exc
        self.input_lists = input_lists


def format_value(value: Any) -> Any:
    """ComfyUI's rendering of an input in an error: primitives as they are, anything else as str()."""
    if value is None or isinstance(value, (int, float, bool, str)):
        return value
    text = str(value)
    return text if len(text) <= 2000 else text[:2000] + "…"


class Executor:
    """Executes plans one at a time; owns node instances and the output cache across prompts."""

    def __init__(self, cache: OutputCache, bus: ev.EventBus, folders: Folders,
                 models: ModelManager | None = None) -> None:
        self.cache = cache
        self.bus = bus
        self.folders = folders
        self.models = models or ModelManager()
        self._instances: dict[tuple[str, str], Any] = {}
        self._interrupt = threading.Event()
        self._running: str | None = None
        self._lock = threading.Lock()

    @property
    def running_prompt_id(self) -> str | None:
        return self._running

    def interrupt(self, prompt_id: str | None = None) -> bool:
        """Ask the running prompt to stop (only ``prompt_id`` if given). True if a prompt was asked."""
        with self._lock:
            if self._running is None or (prompt_id is not None and prompt_id != self._running):
                return False
            self._interrupt.set()
            return True

    def reset(self) -> None:
        """Forget cached results and node instances (``/free`` with free_memory)."""
        self.cache.clear()
        self._instances.clear()

    def execute(self, plan: Plan, prompt_id: str | None = None, extra_data: dict[str, Any] | None = None,
                client_id: str | None = None) -> ExecutionOutcome:
        prompt_id = prompt_id or str(uuid.uuid4())
        with self._lock:
            self._running = prompt_id
            self._interrupt.clear()
        try:
            live = {(n, p.spec.class_type) for n, p in plan.nodes.items()}
            for key in [k for k in self._instances if k not in live]:
                del self._instances[key]
            return _Run(self, plan, prompt_id, extra_data or {}, client_id, self._interrupt).run()
        finally:
            with self._lock:
                self._running = None
                self._interrupt.clear()

    def instance_for(self, node: PlannedNode) -> Any:
        key = (node.id, node.spec.class_type)
        if key not in self._instances:
            self._instances[key] = node.spec.impl.create_instance()
        return self._instances[key]


def _inference_mode() -> AbstractContextManager[Any]:
    """torch.inference_mode() once some node has imported torch; the engine itself never imports it.

    ComfyUI runs every node under inference mode and custom nodes rely on it. A run that starts with
    torch loaded enters it once for the whole prompt; otherwise each node call checks again.
    """
    torch = sys.modules.get("torch")
    return torch.inference_mode() if torch is not None else nullcontext()


@dataclass(slots=True)
class _State:
    requested: set[str] = field(default_factory=set)
    waiting: dict[str, int] = field(default_factory=dict)
    dependents: dict[str, list[str]] = field(default_factory=dict)
    lazy_requested: dict[str, set[str]] = field(default_factory=dict)
    values: dict[str, tuple[list[Any], ...]] = field(default_factory=dict)
    first: deque[str] = field(default_factory=deque)  # output nodes: run as soon as they can
    ready: list[str] = field(default_factory=list)  # others, depth-first to free intermediates early


class _Run:
    """One prompt's execution; also the Reporter behind each node's context."""

    def __init__(self, executor: Executor, plan: Plan, prompt_id: str, extra_data: dict[str, Any],
                 client_id: str | None, stop: threading.Event) -> None:
        self.ex = executor
        self.stop = stop  # set by Executor.interrupt (or a node's request_interrupt): ends this run
        self.plan = plan
        self.prompt_id = prompt_id
        self.extra_data = extra_data
        self.client_id = client_id
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.executed: list[str] = []
        self.executed_set: set[str] = set()
        self.ui_outputs: dict[str, dict[str, Any]] = {}
        self.s = _State()
        self.keys: dict[str, bytes] = {}
        self.output_ids = set(plan.outputs)
        self.inference_mode_entered = False
        self.finished_states: dict[str, ev.NodeProgress] = {}
        self.node_max: dict[str, float] = {}
        self.dynprompt = DynamicPrompt(plan.prompt)
        self.pending: dict[str, PendingExpansion] = {}  # expanding nodes waiting for their subgraphs
        self.nonce = uuid.uuid4().hex

    # -- events ---------------------------------------------------------------------------------
    def publish(self, event: ev.Event) -> None:
        if event.type in ev.STATUS_MESSAGE_TYPES:
            self._flush_states()
            self.messages.append((event.type, event.data()))
        self.ex.bus.publish(event, self.client_id)

    def _state(self, node_id: str, state: Literal["running", "finished"], value: float, maximum: float) -> None:
        """progress_state with only the nodes that changed.

        A node's "finished" is held back and sent together with the next node's "running" (or before
        the prompt's final message): one message per node instead of two, same information.
        """
        if not self.ex.bus.has_subscribers:  # per-node chatter nobody would read
            return
        if state == "running":
            self.node_max[node_id] = maximum
        else:  # finished: full bar of whatever scale the node reported
            value = maximum = self.node_max.pop(node_id, maximum)
        dyn = self.dynprompt
        progress = ev.NodeProgress(value=value, max=maximum, state=state, node_id=node_id, prompt_id=self.prompt_id,
                                   display_node_id=dyn.get_display_node_id(node_id),
                                   parent_node_id=dyn.get_parent_node_id(node_id),
                                   real_node_id=dyn.get_real_node_id(node_id))
        self.finished_states[node_id] = progress
        if state == "running":
            self._flush_states()

    def _flush_states(self) -> None:
        if self.finished_states:
            nodes, self.finished_states = self.finished_states, {}
            self.ex.bus.publish(ev.ProgressState(prompt_id=self.prompt_id, nodes=nodes), self.client_id)

    # -- Reporter (called from node contexts) ---------------------------------------------------
    def interrupted(self) -> bool:
        return self.stop.is_set()

    def request_interrupt(self) -> None:
        self.stop.set()

    def check_interrupted(self) -> None:
        if self.stop.is_set():
            raise Interrupted("interrupted by the user")

    def report_progress(self, node_id: str, value: float, maximum: float, preview: Any, fmt: str) -> None:
        self.publish(ev.Progress(value=value, max=maximum, prompt_id=self.prompt_id, node=node_id))
        self._state(node_id, "running", value, maximum)
        if preview is not None:
            self.publish(ev.PreviewImage(
                prompt_id=self.prompt_id, node_id=node_id, display_node_id=self.dynprompt.get_display_node_id(node_id),
                image=preview,
                image_format=fmt, max_size=512))

    def report_text(self, node_id: str, text: str) -> None:
        self.publish(ev.ProgressText(prompt_id=self.prompt_id, node_id=node_id, text=text))

    # -- scheduling -----------------------------------------------------------------------------
    def _enqueue(self, node_id: str) -> None:
        (self.s.first if node_id in self.output_ids else self.s.ready).append(node_id)

    def _available(self, node_id: str, outputs: tuple[list[Any], ...]) -> None:
        self.s.values[node_id] = outputs
        for consumer in self.s.dependents.pop(node_id, ()):
            self.s.waiting[consumer] -= 1
            if self.s.waiting[consumer] == 0:
                self._enqueue(consumer)

    def _depend(self, node_id: str, sources: list[str]) -> list[str]:
        """Register that ``node_id`` waits for ``sources``; returns those not yet requested."""
        new = []
        for source in sources:
            if source in self.s.values:
                continue
            self.s.dependents.setdefault(source, []).append(node_id)
            self.s.waiting[node_id] += 1
            if source not in self.s.requested:
                new.append(source)
        return new

    def _request(self, roots: list[str]) -> None:
        stack = list(roots)
        while stack:
            node_id = stack.pop()
            if node_id in self.s.requested:
                continue
            self.s.requested.add(node_id)
            node = self.plan.nodes[node_id]
            entry = self.ex.cache.get(self.keys[node_id])
            if entry is not None:
                self._from_cache(node_id, entry)
                continue
            self.s.waiting[node_id] = 0
            lazy = node.spec.lazy_inputs
            sources = [src for name, (src, _) in node.links.items() if name not in lazy]
            stack.extend(self._depend(node_id, sources))
            if self.s.waiting[node_id] == 0:
                self._enqueue(node_id)

    def _from_cache(self, node_id: str, entry: CacheEntry) -> None:
        if entry.ui is not None and node_id in self.output_ids:
            self.ui_outputs[node_id] = entry.ui
            self.publish(ev.Executed(node=node_id, display_node=self.dynprompt.get_display_node_id(node_id),
                                     output=entry.ui, prompt_id=self.prompt_id))
        self._available(node_id, entry.outputs)

    def _next(self) -> str | None:
        if self.s.first:
            return self.s.first.popleft()
        if self.s.ready:
            return self.s.ready.pop()
        return None

    # -- running one node -----------------------------------------------------------------------
    def _input_lists(self, node: PlannedNode) -> dict[str, list[Any]]:
        lists: dict[str, list[Any]] = {name: [value] for name, value in node.constants.items()}
        for name, (source, slot) in node.links.items():
            outputs = self.s.values.get(source)
            lists[name] = outputs[slot] if outputs is not None else [None]
        for name, kind in node.spec.hidden.items():
            if kind == "PROMPT":
                lists[name] = [self.plan.prompt]
            elif kind == "EXTRA_PNGINFO":
                if "extra_pnginfo" in self.extra_data:
                    lists[name] = [self.extra_data["extra_pnginfo"]]
            elif kind == "UNIQUE_ID":
                lists[name] = [node.id]
            elif kind == "DYNPROMPT":
                lists[name] = [self.dynprompt]
            elif kind in ("AUTH_TOKEN_COMFY_ORG", "API_KEY_COMFY_ORG"):
                lists[name] = [self.extra_data.get(kind.lower())]
        return lists

    def _context(self, node: PlannedNode) -> NodeContext:
        return NodeContext(self, node_id=node.id, display_node_id=self.dynprompt.get_display_node_id(node.id),
                           class_type=node.spec.class_type,
                           prompt_id=self.prompt_id, prompt=self.plan.prompt, extra_data=self.extra_data,
                           folders=self.ex.folders, models=self.ex.models)

    def _lazy_pending(self, node: PlannedNode, instance: Any, ctx: NodeContext,
                      lists: dict[str, list[Any]]) -> list[str]:
        """Ask a lazy node which inputs it still needs; returns the sources to wait for."""
        needed: set[str] = set()
        for args in ([lists] if node.spec.input_is_list else
                     [{k: v[i] if i < len(v) else v[-1] for k, v in lists.items()}
                      for i in range(max((len(v) for v in lists.values()), default=1))]):
            needed.update(node.spec.impl.check_lazy_status(instance, ctx, dict(args)) or ())
        asked = self.s.lazy_requested.setdefault(node.id, set())
        sources = []
        for name in sorted(needed - asked):
            link = node.links.get(name)
            if link is not None and link[0] not in self.s.values:
                asked.add(name)
                sources.append(link[0])
        return sources

    def _run_node(self, node_id: str) -> bool:
        """Run (or re-stage) one node. False when it went back to waiting (lazy inputs, a subgraph)."""
        node = self.plan.nodes[node_id]
        spec = node.spec
        if node_id in self.pending:  # its subgraph is done: its result links can be resolved now
            lists: dict[str, list[Any]] = {}
            try:
                outputs, ui = merge_results(spec, resolve(self.pending.pop(node_id).results, self.s.values, spec))
            except Exception as exc:
                raise _NodeFailed(node_id, exc, lists) from exc
            self._complete(node, outputs, ui)
            return True
        lists = self._input_lists(node)
        ctx = self._context(node) if getattr(spec.impl, "wants_context", True) or spec.has_lazy_check else None
        try:
            instance = self.ex.instance_for(node)
            if spec.has_lazy_check:
                assert ctx is not None
                with _inference_mode():
                    sources = self._lazy_pending(node, instance, ctx, lists)
                if sources:  # back to waiting; _available() re-queues it when they arrive
                    self._request(self._depend(node_id, sources))
                    return False
            self._state(node_id, "running", 0, 1)
            if self.ex.bus.has_subscribers:
                self.publish(ev.Executing(node=node_id, display_node=self.dynprompt.get_display_node_id(node_id),
                                          prompt_id=self.prompt_id))
            call_index = 0

            def call(args: dict[str, Any]) -> NodeOutput:
                nonlocal call_index
                token = GraphBuilder.set_default_prefix(node_id, call_index)  # ids for subgraphs it builds
                call_index += 1
                try:
                    if self.inference_mode_entered:
                        return spec.impl.execute(instance, ctx, args)  # type: ignore[no-any-return]
                    with _inference_mode():
                        return spec.impl.execute(instance, ctx, args)  # type: ignore[no-any-return]
                finally:
                    GraphBuilder.clear_default_prefix(token)

            results, blocked = map_over_lists(spec, lists, call, self.check_interrupted)
            for blocker in blocked:
                if blocker.message is not None:
                    self._report_blocked(node, blocker.message)
            if any(r.expand is not None for r in results):
                self._expand(node, results)
                return False
            outputs, ui = merge_results(spec, results)
        except Interrupted:
            raise
        except Exception as exc:
            raise _NodeFailed(node_id, exc, lists) from exc
        self._complete(node, outputs, ui)
        return True

    def _complete(self, node: PlannedNode, outputs: tuple[list[Any], ...], ui: dict[str, Any] | None) -> None:
        node_id = node.id
        self.executed.append(node_id)
        self.executed_set.add(node_id)
        if node.spec.cache_policy is not CachePolicy.NEVER_CACHE:
            self.ex.cache.put(self.keys[node_id], CacheEntry(outputs=outputs, ui=ui))
        if ui is not None:
            self.ui_outputs[node_id] = ui
            self.publish(ev.Executed(node=node_id, display_node=self.dynprompt.get_display_node_id(node_id),
                                     output=ui, prompt_id=self.prompt_id))
        self._state(node_id, "finished", 1, 1)
        self._available(node_id, outputs)

    def _expand(self, node: PlannedNode, results: list[NodeOutput]) -> None:
        """Add the subgraphs a node returned; it finishes when the outputs its result links to exist."""
        spec_of = self.plan.spec_of or (lambda class_type: None)
        new_outputs: list[str] = []
        for result in results:
            if result.expand is None:
                continue
            order, outputs = add_subgraph(self.plan, self.dynprompt, node.id, result.expand, spec_of)
            for new_id in order:
                self.keys[new_id] = node_key(self.plan.nodes[new_id], self.keys, self.nonce, self.ex.folders)
            new_outputs += outputs
        self.pending[node.id] = PendingExpansion(results)
        self.output_ids.update(new_outputs)
        self._request(new_outputs)  # output nodes inside the subgraph run; the parent does not wait for them
        self.s.waiting[node.id] = 0
        self._request(self._depend(node.id, [source for source, _ in result_links(results)]))
        if self.s.waiting[node.id] == 0:
            self._enqueue(node.id)

    def _report_blocked(self, node: PlannedNode, message: str) -> None:
        self.publish(ev.ExecutionError(
            prompt_id=self.prompt_id, node_id=node.id, node_type=node.spec.class_type,
            executed=list(self.executed), exception_message=f"Execution Blocked: {message}",
            exception_type="ExecutionBlocked",
            traceback=[], current_inputs=[], current_outputs=[], timestamp=None))

    # -- the prompt -----------------------------------------------------------------------------
    def run(self) -> ExecutionOutcome:
        self.publish(ev.ExecutionStart(prompt_id=self.prompt_id, timestamp=ev.now_ms()))
        status: Literal["success", "error"] = "success"
        error: dict[str, Any] | None = None
        interrupted = False
        current: str | None = None
        try:
            self.keys = compute_keys(self.plan, nonce=self.nonce, folders=self.ex.folders)
            self.ex.cache.begin_prompt(self.keys.values())
            cached = [n for n in self.plan.order if self.keys[n] in self.ex.cache]
            self.publish(ev.ExecutionCached(nodes=cached, prompt_id=self.prompt_id,
                                                            timestamp=ev.now_ms()))
            self._request(list(reversed(self.plan.outputs)))
            mode = _inference_mode()
            self.inference_mode_entered = not isinstance(mode, nullcontext)
            with mode:
                while (current := self._next()) is not None:
                    self._run_node(current)
            self.publish(ev.ExecutionSuccess(prompt_id=self.prompt_id, timestamp=ev.now_ms()))
        except Interrupted:
            status, interrupted = "error", True
            node_id = current or ""
            log.info("prompt %s interrupted at node %s", self.prompt_id, node_id)
            self.publish(ev.ExecutionInterrupted(
                prompt_id=self.prompt_id, node_id=node_id, node_type=self._class_of(node_id),
                executed=list(self.executed), timestamp=ev.now_ms()))
        except _NodeFailed as failed:
            status = "error"
            error = self._report_error(failed.node_id, failed.exc, failed.input_lists)
        except Exception as exc:  # an engine bug must not take the worker down with it
            status = "error"
            log.exception("engine failure while running prompt %s", self.prompt_id)
            error = self._report_error(current or "", exc, {})
        except (KeyboardInterrupt, SystemExit) as exc:  # raised by a node's code: still an outcome
            status = "error"
            error = self._report_error(current or "", exc, {})
        dyn = self.dynprompt
        meta = {n: {"node_id": n, "display_node": dyn.get_display_node_id(n), "parent_node": dyn.get_parent_node_id(n),
                    "real_node_id": dyn.get_real_node_id(n)} for n in self.ui_outputs}
        return ExecutionOutcome(
            prompt_id=self.prompt_id, status_str=status, completed=status == "success",
            messages=self.messages, outputs=self.ui_outputs, meta=meta, executed=list(self.executed),
            cached=[n for n in self.plan.order if n not in self.executed_set and n in self.s.values],
            error=error, interrupted=interrupted)

    def _class_of(self, node_id: str) -> str:
        node = self.plan.nodes.get(node_id)
        return node.spec.class_type if node else ""

    def _report_error(self, node_id: str, exc: BaseException, lists: dict[str, list[Any]]) -> dict[str, Any]:
        if not isinstance(exc, ResultError):  # ComfyUI's words, then what failed where
            log.error("!!! Exception during processing !!! %s (node %s, %s)\n%s", exc, node_id,
                      self._class_of(node_id), "".join(traceback.format_exception(exc)).rstrip())
        message = str(exc)
        if isinstance(exc, ResultError):
            message = f"{self._class_of(node_id)} {message}"
        event = ev.ExecutionError(  # a node made by an expansion is reported as the prompt node behind it
            prompt_id=self.prompt_id, node_id=self.dynprompt.get_real_node_id(node_id),
            node_type=self._class_of(node_id),
            executed=list(self.executed), exception_message=f"{message}\n",
            exception_type=full_type_name(type(exc)), traceback=traceback.format_tb(exc.__traceback__),
            current_inputs={k: [format_value(x) for x in v] for k, v in lists.items()},
            current_outputs=[] if isinstance(self.ex.cache, NullCache) else list(self.plan.prompt),
            timestamp=ev.now_ms())
        self.publish(event)
        return event.data()
