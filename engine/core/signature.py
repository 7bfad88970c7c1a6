"""Cache keys: what a node's result depends on, hashed once per node per prompt.

key(node) = hash(class_type, node version, its constant inputs, its fingerprint (IS_CHANGED), and the
keys and slots of the nodes its links read). Computed in topological order, each key reuses its sources'
keys, so a prompt costs O(nodes + edges). ComfyUI instead re-walks every node's ancestors, which is
quadratic on long chains. Keys are stable across processes (blake2b of a canonical repr), so another
process can tell which results a worker holds.
"""

from __future__ import annotations

import logging
import math
from hashlib import blake2b
from typing import Any

from .paths import Folders
from .spec import CachePolicy
from .validation import Plan, PlannedNode

log = logging.getLogger(__name__)


def fingerprint(node: PlannedNode, nonce: str, folders: Folders | None) -> str:
    """The node's IS_CHANGED value as text; NaN or an exception means "changed every time"."""
    try:
        value = node.spec.impl.fingerprint(dict(node.constants), folders)
    except Exception:
        log.warning("fingerprint of node %s (%s) failed; it will re-run", node.id, node.spec.class_type,
                    exc_info=True)
        return nonce
    if isinstance(value, float) and math.isnan(value):
        return nonce
    return repr(value)


_PLAIN = (str, int, float, bool, type(None))


def _keyable(value: Any, nonce: str) -> Any:
    """A value's stand-in in a key. Objects with no faithful repr (a tensor a subgraph was handed) become a
    token unique to this run, so they never match a cached result (ComfyUI's ``Unhashable``)."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_keyable(v, nonce) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _keyable(v, nonce)) for k, v in value.items()))
    return f"<{type(value).__name__} {id(value)} {nonce}>"


def node_key(node: PlannedNode, keys: dict[str, bytes], nonce: str, folders: Folders | None) -> bytes:
    """One node's key; ``keys`` must already hold the keys of the nodes its links read."""
    spec = node.spec
    constants = node.constants
    if not all(isinstance(v, _PLAIN) for v in constants.values()):
        constants = {k: _keyable(v, nonce) for k, v in constants.items()}
    parts: tuple[Any, ...] = (
        spec.class_type,
        spec.version,
        tuple(sorted(constants.items())),
        tuple(sorted((name, keys[src], slot) for name, (src, slot) in node.links.items())),
    )
    if spec.has_fingerprint:
        parts += (fingerprint(node, nonce, folders),)
    if spec.keyed_by_node_id:
        parts += (node.id,)
    if spec.cache_policy is CachePolicy.ALWAYS_RUN:
        parts += (nonce,)
    return blake2b(repr(parts).encode(), digest_size=16).digest()


def compute_keys(plan: Plan, nonce: str, folders: Folders | None = None) -> dict[str, bytes]:
    """Keys of every planned node. ``nonce`` is unique per prompt: it makes always-run nodes (and
    everything downstream of them) miss the cache."""
    keys: dict[str, bytes] = {}
    for node_id in plan.order:
        keys[node_id] = node_key(plan.nodes[node_id], keys, nonce, folders)
    return keys
