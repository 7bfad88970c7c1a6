"""Executor semantics on stub nodes: caching, lazy inputs, lists, errors, interruption, events."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from inkgraph.engine.core.graph_builder import GraphBuilder

from . import stub_nodes
from .helpers import StubEngine


@pytest.fixture
def engine(tmp_path: Path) -> StubEngine:
    return StubEngine(tmp_path)


def diamond() -> dict:
    g = GraphBuilder()
    a = g.node("StubConst", "1", value=2)
    b = g.node("StubConst", "2", value=3)
    s = g.node("StubAdd", "3", a=a.out(), b=b.out())
    k = g.node("StubScale", "4", value=s.out(), factor=2.0)
    g.node("StubOutput", "5", value=k.out(), label="x")
    return g.finalize()


def test_runs_in_dependency_order_and_reports_ui(engine: StubEngine) -> None:
    outcome, ran = engine.run(diamond())
    assert outcome.status_str == "success" and outcome.completed
    assert outcome.outputs == {"5": {"values": [10.0], "label": ["x"]}}
    assert sorted(ran[:2]) == ["1", "2"] and ran[2:] == ["3", "4", "5"]
    assert outcome.meta["5"] == {"node_id": "5", "display_node": "5", "parent_node": None, "real_node_id": "5"}
    assert [m[0] for m in outcome.messages] == ["execution_start", "execution_cached", "execution_success"]


def test_full_cache_hit_runs_nothing_and_resends_output(engine: StubEngine) -> None:
    engine.run(diamond())
    outcome, ran = engine.run(diamond())
    assert ran == []
    assert outcome.executed == []
    cached = engine.recorder.of("execution_cached")[0]
    assert sorted(cached.nodes) == ["1", "2", "3", "4", "5"]
    executed = engine.recorder.of("executed")
    assert [e.node for e in executed] == ["5"] and executed[0].output == {"values": [10.0], "label": ["x"]}
    assert outcome.outputs == {"5": {"values": [10.0], "label": ["x"]}}
    assert engine.recorder.of("executing") == []


def test_changed_widget_reruns_only_it_and_descendants(engine: StubEngine) -> None:
    prompt = diamond()
    engine.run(prompt)
    prompt["4"]["inputs"]["factor"] = 3.0
    outcome, ran = engine.run(prompt)
    assert ran == ["4", "5"]
    assert outcome.outputs["5"]["values"] == [15.0]
    prompt["1"]["inputs"]["value"] = 7
    _, ran = engine.run(prompt)
    assert ran == ["1", "3", "4", "5"]


def test_cache_is_keyed_by_content_not_node_id(engine: StubEngine) -> None:
    engine.run(diamond())
    renamed = {f"n{k}": v for k, v in diamond().items()}
    for node in renamed.values():
        for name, value in node["inputs"].items():
            if isinstance(value, list):
                node["inputs"][name] = [f"n{value[0]}", value[1]]
    _, ran = engine.run(renamed)
    assert ran == []


def test_lru_keeps_results_of_two_workflows(engine: StubEngine) -> None:
    first, second = diamond(), diamond()
    second["2"]["inputs"]["value"] = 30
    engine.run(first)
    engine.run(second)
    _, ran = engine.run(first)
    assert ran == []


def test_classic_cache_forgets_other_workflows(tmp_path: Path) -> None:
    engine = StubEngine(tmp_path, cache="classic")
    first, second = diamond(), diamond()
    second["2"]["inputs"]["value"] = 30
    engine.run(first)
    engine.run(second)
    _, ran = engine.run(first)
    assert ran == ["2", "3", "4", "5"]  # node 1 is shared with the second workflow, so it survived


def test_cache_none_reruns_everything(tmp_path: Path) -> None:
    engine = StubEngine(tmp_path, cache="none")
    engine.run(diamond())
    outcome, ran = engine.run(diamond())
    assert sorted(ran) == ["1", "2", "3", "4", "5"]
    assert outcome.outputs["5"]["values"] == [10.0]


def test_lru_budget_evicts_least_recently_used(tmp_path: Path) -> None:
    engine = StubEngine(tmp_path, budget=400)  # room for about two small entries
    prompt = diamond()
    engine.run(prompt)
    stats = engine.runtime.executor.cache.stats()
    assert stats["bytes"] <= 400 and stats["entries"] < 5
    prompt["5"]["inputs"]["label"] = "y"  # the output must re-run and needs node 4, which was evicted
    outcome, ran = engine.run(prompt)
    assert "4" in ran and outcome.outputs["5"]["values"] == [10.0]


def test_only_nodes_needed_by_outputs_run(engine: StubEngine) -> None:
    prompt = diamond()
    prompt["9"] = {"class_type": "StubFail", "inputs": {"value": ["1", 0], "message": "must not run"}}
    outcome, ran = engine.run(prompt)
    assert "9" not in ran and outcome.status_str == "success"


def test_partial_execution_targets(engine: StubEngine) -> None:
    prompt = diamond()
    prompt["6"] = {"class_type": "StubOutput", "inputs": {"value": ["2", 0], "label": "other"}}
    result = engine.validate(prompt, partial_execution_targets=["6"])
    assert result.ok and result.plan is not None and result.plan.outputs == ["6"]
    outcome = engine.runtime.executor.execute(result.plan)
    assert set(outcome.outputs) == {"6"}
    assert stub_nodes.LOG.take() == ["2", "6"]


def test_lazy_inputs_evaluate_only_what_is_needed(engine: StubEngine) -> None:
    g = GraphBuilder()
    a = g.node("StubConst", "a", value=1)
    b = g.node("StubConst", "b", value=100)
    mix = g.node("StubLazyMix", "m", mix=1.0, a=a.out(), b=b.out())
    g.node("StubOutput", "o", value=mix.out(), label="")
    prompt = g.finalize()
    outcome, ran = engine.run(prompt)
    assert ran == ["a", "m", "o"]
    assert outcome.outputs["o"]["values"] == [1]
    prompt["m"]["inputs"]["mix"] = 0.5
    outcome, ran = engine.run(prompt)
    assert ran == ["b", "m", "o"]  # a is cached, only b newly evaluated
    assert outcome.outputs["o"]["values"] == [50.5]


def test_lazy_input_that_is_already_cached(engine: StubEngine) -> None:
    g = GraphBuilder()
    a = g.node("StubConst", "a", value=4)
    g.node("StubOutput", "o1", value=a.out(), label="")
    mix = g.node("StubLazyMix", "m", mix=1.0, a=a.out(), b=a.out())
    g.node("StubOutput", "o2", value=mix.out(), label="")
    outcome, ran = engine.run(g.finalize())
    assert outcome.outputs["o2"]["values"] == [4] and ran.count("a") == 1


def test_list_outputs_map_over_consumers(engine: StubEngine) -> None:
    g = GraphBuilder()
    r = g.node("StubRange", "r", count=4)
    scaled = g.node("StubScale", "s", value=r.out(), factor=10.0)
    total = g.node("StubSum", "t", values=scaled.out())
    g.node("StubOutput", "each", value=scaled.out(), label="each")
    g.node("StubOutput", "sum", value=total.out(), label="sum")
    outcome, ran = engine.run(g.finalize())
    assert outcome.outputs["each"]["values"] == [0.0, 10.0, 20.0, 30.0]
    assert outcome.outputs["each"]["label"] == ["each"] * 4
    assert outcome.outputs["sum"]["values"] == [60.0]
    assert ran.count("s") == 4 and ran.count("t") == 1


def test_empty_list_skips_consumers(engine: StubEngine) -> None:
    g = GraphBuilder()
    r = g.node("StubRange", "r", count=0)
    s = g.node("StubScale", "s", value=r.out(), factor=2.0)
    g.node("StubOutput", "o", value=s.out(), label="")
    outcome, ran = engine.run(g.finalize())
    assert outcome.status_str == "success" and ran == ["r"] and outcome.outputs == {}


def test_error_stops_prompt_with_comfyui_fields_and_keeps_cache(engine: StubEngine) -> None:
    g = GraphBuilder()
    a = g.node("StubConst", "1", value=5)
    f = g.node("StubFail", "2", value=a.out(), message="kaput")
    g.node("StubOutput", "3", value=f.out(), label="")
    prompt = g.finalize()
    outcome, ran = engine.run(prompt)
    assert outcome.status_str == "error" and not outcome.completed
    assert ran == ["1", "2"]
    error = engine.recorder.of("execution_error")[0].data()
    assert list(error) == ["prompt_id", "node_id", "node_type", "executed", "exception_message",
                           "exception_type", "traceback", "current_inputs", "current_outputs", "timestamp"]
    assert error["node_id"] == "2" and error["node_type"] == "StubFail"
    assert error["exception_type"] == "RuntimeError" and error["exception_message"].startswith("kaput")
    assert error["executed"] == ["1"]
    assert error["current_inputs"] == {"message": ["kaput"], "value": [5]}
    assert any("StubFail" in line or "raise" in line for line in error["traceback"])
    assert outcome.messages[-1][0] == "execution_error"
    prompt["2"] = {"class_type": "StubScale", "inputs": {"value": ["1", 0], "factor": 1.0}}
    _, ran = engine.run(prompt)
    assert ran == ["2", "3"]  # node 1's result survived the failure


def test_interrupt_from_another_thread(engine: StubEngine) -> None:
    g = GraphBuilder()
    a = g.node("StubConst", "1", value=1)
    s = g.node("StubSlow", "2", value=a.out(), steps=500, delay=0.01)
    g.node("StubOutput", "3", value=s.out(), label="")
    result = engine.validate(g.finalize())
    executor = engine.runtime.executor
    assert result.plan is not None
    box = []
    worker = threading.Thread(target=lambda: box.append(executor.execute(result.plan, "p-int")))
    worker.start()
    deadline = time.time() + 10
    while not engine.recorder.of("progress") and time.time() < deadline:
        time.sleep(0.005)
    assert executor.interrupt("some-other-prompt") is False
    assert executor.interrupt("p-int") is True
    worker.join(10)
    outcome = box[0]
    assert outcome.interrupted and outcome.status_str == "error"
    event = engine.recorder.of("execution_interrupted")[0].data()
    assert event["node_id"] == "2" and event["node_type"] == "StubSlow" and event["executed"] == ["1"]
    assert outcome.messages[-1][0] == "execution_interrupted"
    assert executor.interrupt() is False  # nothing running now


def test_a_node_leaving_with_system_exit_still_gives_an_outcome(engine: StubEngine,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoever waits for the executor (the CLI, the server's worker) must always get an outcome."""
    from inkgraph.engine.core import executor as executor_module

    def leave(self: Any, node_id: str) -> bool:
        raise SystemExit("a node called sys.exit()")

    monkeypatch.setattr(executor_module._Run, "_run_node", leave)
    g = GraphBuilder()
    a = g.node("StubConst", "1", value=1)
    g.node("StubOutput", "2", value=a.out(), label="")
    outcome, _ = engine.run(g.finalize())
    assert outcome.status_str == "error" and outcome.error is not None
    assert outcome.error["exception_type"] == "SystemExit" and outcome.error["node_id"] in ("1", "2")


def test_progress_events_and_progress_state_carry_only_changed_nodes(engine: StubEngine) -> None:
    g = GraphBuilder()
    a = g.node("StubConst", "1", value=1)
    s = g.node("StubSlow", "2", value=a.out(), steps=3, delay=0.0)
    g.node("StubOutput", "3", value=s.out(), label="")
    engine.run(g.finalize())
    progress = [(e.value, e.max, e.node) for e in engine.recorder.of("progress")]
    assert progress == [(1, 3, "2"), (2, 3, "2"), (3, 3, "2")]
    states = [[(n, p["state"], p["value"], p["max"]) for n, p in e.nodes.items()]
              for e in engine.recorder.of("progress_state")]
    assert states == [
        [("1", "running", 0, 1)],
        [("1", "finished", 1, 1), ("2", "running", 0, 1)],  # a finish travels with the next start
        [("2", "running", 1, 3)], [("2", "running", 2, 3)], [("2", "running", 3, 3)],
        [("2", "finished", 3, 3), ("3", "running", 0, 1)],
        [("3", "finished", 1, 1)],  # sent before execution_success
    ]
    assert engine.recorder.types()[-2:] == ["progress_state", "execution_success"]


def test_event_sequence_matches_comfyui(engine: StubEngine) -> None:
    engine.run(diamond())
    types = [t for t in engine.recorder.types() if t != "progress_state"]
    assert types[:2] == ["execution_start", "execution_cached"]
    assert types[-2:] == ["executed", "execution_success"]
    assert types.count("executing") == 5
    executing = engine.recorder.of("executing")[0].data()
    assert list(executing) == ["node", "display_node", "prompt_id"]


def test_execution_blocker_skips_consumers(engine: StubEngine) -> None:
    g = GraphBuilder()
    a = g.node("StubConst", "1", value=1)
    blocked = g.node("StubBlock", "2", value=a.out(), block=True, message="")
    s = g.node("StubScale", "3", value=blocked.out(), factor=2.0)
    g.node("StubOutput", "4", value=s.out(), label="")
    outcome, ran = engine.run(g.finalize())
    assert outcome.status_str == "success" and ran == ["1", "2"] and outcome.outputs == {}
    assert engine.recorder.of("execution_error") == []


def test_execution_blocker_with_message_reports(engine: StubEngine) -> None:
    g = GraphBuilder()
    a = g.node("StubConst", "1", value=1)
    blocked = g.node("StubBlock", "2", value=a.out(), block=True, message="nope")
    g.node("StubOutput", "4", value=blocked.out(), label="")
    outcome, _ = engine.run(g.finalize())
    errors = [e.data() for e in engine.recorder.of("execution_error")]
    assert errors and errors[0]["exception_type"] == "ExecutionBlocked" and "timestamp" not in errors[0]
    assert errors[0]["exception_message"] == "Execution Blocked: nope" and errors[0]["node_id"] == "4"


def test_always_run_policy_reruns_node_and_descendants(engine: StubEngine) -> None:
    g = GraphBuilder()
    a = g.node("StubConst", "1", value=1)
    v = g.node("StubVolatile", "2", value=a.out())
    g.node("StubOutput", "3", value=v.out(), label="")
    prompt = g.finalize()
    engine.run(prompt)
    _, ran = engine.run(prompt)
    assert ran == ["2", "3"]


def test_never_cache_policy_recomputes_only_when_needed(engine: StubEngine) -> None:
    g = GraphBuilder()
    a = g.node("StubConst", "1", value=1)
    u = g.node("StubUncached", "2", value=a.out())
    s = g.node("StubScale", "3", value=u.out(), factor=2.0)
    g.node("StubOutput", "4", value=s.out(), label="")
    prompt = g.finalize()
    engine.run(prompt)
    _, ran = engine.run(prompt)
    assert ran == []  # its consumer is cached, so it is not needed
    prompt["3"]["inputs"]["factor"] = 3.0
    _, ran = engine.run(prompt)
    assert ran == ["2", "3", "4"]


def test_fingerprint_change_reruns(engine: StubEngine) -> None:
    g = GraphBuilder()
    f = g.node("StubFingerprint", "1", text="hello")
    g.node("StubOutput", "2", value=f.out(), label="")
    prompt = g.finalize()
    stub_nodes._STATE["fingerprint"] = "a"
    engine.run(prompt)
    _, ran = engine.run(prompt)
    assert ran == []
    stub_nodes._STATE["fingerprint"] = "b"
    _, ran = engine.run(prompt)
    assert ran == ["1", "2"]
    stub_nodes._STATE["fingerprint"] = float("nan")
    engine.run(prompt)
    _, ran = engine.run(prompt)
    assert ran == ["1", "2"]  # NaN means "changed every time", as in ComfyUI
    stub_nodes._STATE["fingerprint"] = "a"


def test_class_node_instance_is_reused_across_prompts(engine: StubEngine) -> None:
    g = GraphBuilder()
    a = g.node("StubConst", "1", value=1)
    c = g.node("StubCounter", "2", value=a.out())
    g.node("StubOutput", "3", value=c.out(), label="")
    prompt = g.finalize()
    outcome, _ = engine.run(prompt)
    assert outcome.outputs["3"]["values"] == [1]
    prompt["1"]["inputs"]["value"] = 2
    outcome, _ = engine.run(prompt)
    assert outcome.outputs["3"]["values"] == [2]


def test_hidden_inputs(engine: StubEngine) -> None:
    g = GraphBuilder()
    a = g.node("StubConst", "1", value=1)
    g.node("StubPrompt", "2", value=a.out())
    outcome, _ = engine.run(g.finalize(), extra_data={"extra_pnginfo": {"workflow": {"id": "w"}}})
    assert outcome.outputs["2"] == {"ids": ["2"], "nodes": [["1", "2"]], "extra": [{"workflow": {"id": "w"}}]}


def test_ten_thousand_node_chain(engine: StubEngine) -> None:
    g = GraphBuilder()
    prev = g.node("StubConst", value=1)
    for _ in range(10_000):
        prev = g.node("StubNoop", value=prev.out())
    g.node("StubOutput", value=prev.out(), label="end")
    prompt = g.finalize()
    outcome, _ = engine.run(prompt)
    assert outcome.outputs[list(prompt)[-1]]["values"] == [1]
    assert len(outcome.executed) == 10_002
    outcome, _ = engine.run(prompt)
    assert outcome.executed == []


def expanding(times: int = 3, report: bool = False, start: int = 5) -> dict:
    g = GraphBuilder()
    c = g.node("StubConst", "1", value=start)
    r = g.node("StubRepeatScale", "2", value=c.out(), times=times, report=report)
    g.node("StubOutput", "3", value=r.out(), label="end")
    return g.finalize()


def test_node_expansion_runs_the_subgraph_and_resolves_links(engine: StubEngine) -> None:
    outcome, ran = engine.run(expanding(times=3))
    assert outcome.status_str == "success", outcome.error
    assert outcome.outputs["3"] == {"values": [40.0], "label": ["end"]}  # 5 × 2³
    inner = [n for n in ran if n.startswith("2.")]
    assert len(inner) == 3 and all(n.startswith("2.0.0.") for n in inner)  # GraphBuilder's prefix per node/call
    executing = [e for e in engine.recorder.of("executing") if e.node and e.node.startswith("2.")]
    assert executing and all(e.display_node == "2" for e in executing)  # the canvas highlights the parent
    states = [e.nodes for e in engine.recorder.of("progress_state")]
    inner_states = [s for nodes in states for k, s in nodes.items() if k.startswith("2.")]
    assert inner_states and all(s["parent_node_id"] == "2" and s["real_node_id"] == "2" for s in inner_states)


def test_expanded_results_are_cached_with_the_parent(engine: StubEngine) -> None:
    engine.run(expanding(times=2))
    outcome, ran = engine.run(expanding(times=2))
    assert ran == [] and outcome.outputs["3"]["values"] == [20.0]
    outcome, ran = engine.run(expanding(times=4))  # a changed widget on the expanding node re-expands …
    assert outcome.outputs["3"]["values"] == [80.0]
    assert len([n for n in ran if n.startswith("2.")]) == 2  # … and the two steps it shares come from the cache


def test_output_nodes_inside_an_expansion_report_with_their_parent(engine: StubEngine) -> None:
    outcome, _ = engine.run(expanding(times=1, report=True))
    inner = [n for n in outcome.outputs if n.startswith("2.")]
    assert len(inner) == 1 and outcome.outputs[inner[0]]["values"] == [10.0]
    assert outcome.meta[inner[0]] == {"node_id": inner[0], "display_node": "2", "parent_node": "2",
                                      "real_node_id": "2"}


def test_zero_node_expansion_passes_the_input_through(engine: StubEngine) -> None:
    outcome, _ = engine.run(expanding(times=0))
    assert outcome.outputs["3"]["values"] == [5]


def test_an_invalid_expansion_fails_the_node_that_made_it(engine: StubEngine) -> None:
    g = GraphBuilder()
    c = g.node("StubConst", "1", value=1)
    b = g.node("StubBadExpand", "2", value=c.out())
    g.node("StubOutput", "3", value=b.out(), label="x")
    outcome, _ = engine.run(g.finalize())
    assert outcome.status_str == "error" and outcome.error is not None
    assert outcome.error["node_id"] == "2" and "unknown type 'NoSuchNode'" in outcome.error["exception_message"]
