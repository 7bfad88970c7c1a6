"""Graph helpers: linear, iterative, deterministic."""

from __future__ import annotations

from inkgraph.engine.core import graph


def test_topological_order_is_stable_and_complete() -> None:
    edges = {"c": ["a", "b"], "a": [], "b": ["a"], "d": ["c"]}
    order = graph.topological_order(["a", "b", "c", "d"], edges)
    assert order == ["a", "b", "c", "d"]


def test_cycles_named_with_networkx() -> None:
    edges = {"a": ["c"], "b": ["a"], "c": ["b"], "d": ["a"], "e": ["e"]}
    cycles = graph.cycles(edges)
    assert sorted(map(sorted, cycles)) == [["a", "b", "c"], ["e"]]
    assert graph.cycles({"a": [], "b": ["a"]}) == []


def test_upstream_and_downstream() -> None:
    edges = {"a": [], "b": ["a"], "c": ["b"], "x": ["a"]}
    assert sorted(graph.upstream(["c"], lambda n: edges[n])) == ["a", "b", "c"]
    assert graph.downstream(["b"], edges, edges) == {"b", "c"}


def test_deep_chain_needs_no_recursion() -> None:
    n = 200_000
    edges = {str(i): [str(i - 1)] if i else [] for i in range(n)}
    assert len(graph.upstream([str(n - 1)], lambda x: edges[x])) == n
    assert len(graph.topological_order(edges, edges)) == n
