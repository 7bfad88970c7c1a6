"""``python -m inkgraph.engine.cli``: the same as the ``inkgraph`` console script."""

from . import entry

entry()
