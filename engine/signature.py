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


def compute_keys(plan: Plan, nonce: str, folders: Folders | None = None) -> dict[str, bytes]:
    """Keys of every planned node. ``nonce`` is unique per prompt: it makes always-run nodes (and
    everything downstream of them) miss the cache."""
    keys: dict[str, bytes] = {}
    for node_id in plan.order:
        node = plan.nodes[node_id]
        spec = node.spec
        parts: tuple[Any, ...] = (
            spec.class_type,
            spec.version,
            tuple(sorted(node.constants.items())),
            tuple(sorted((name, keys[src], slot) for name, (src, slot) in node.links.items())),
        )
        if spec.has_fingerprint:
            parts += (fingerprint(node, nonce, folders),)
        if spec.keyed_by_node_id:
            parts += (node_id,)
        if spec.cache_policy is CachePolicy.ALWAYS_RUN:
            parts += (nonce,)
        keys[node_id] = blake2b(repr(parts).encode(), digest_size=16).digest()
    return keys
