"""Inkgraph: a node-graph workflow engine for diffusion image generation, compatible with ComfyUI.

This is the one installed package. Plugin authors import the node-authoring API from here
(``from inkgraph import node, Image, Int``); the runtime lives in :mod:`inkgraph.engine` and the built-in
node pack in :mod:`inkgraph.nodes`. Importing it is cheap: nothing here imports torch.
"""

from .engine import *  # noqa: F403  (the plugin API: every name inkgraph.engine exports)
from .engine import __all__, __version__  # noqa: F401
