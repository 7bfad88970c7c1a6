"""Inkgraph's runtime: node specs, validation, scheduling, caching, events.

Plugin authors import the node-authoring API from :mod:`inkgraph` (``from inkgraph import node, Image, Int``);
this package exports the same names.
Nothing in the engine core imports torch; nodes import it when they run.
"""

from .core.api import (
    ANY,
    MAX_RESOLUTION,
    Allocation,
    Boolean,
    CachePolicy,
    Clip,
    Combo,
    Conditioning,
    Context,
    ExecutionBlocker,
    Float,
    Hidden,
    Image,
    Int,
    Latent,
    Mask,
    Model,
    NodeOutput,
    Output,
    Socket,
    String,
    UpscaleModel,
    Vae,
    node,
    spec_of,
)
from .core.context import Interrupted
from .core.graph_builder import GraphBuilder

__version__ = "0.1.0"

__all__ = [
    "ANY", "Allocation", "Boolean", "CachePolicy", "Clip", "Combo", "Conditioning", "Context", "ExecutionBlocker",
    "Float", "GraphBuilder", "Hidden", "Image", "Int", "Interrupted", "Latent", "MAX_RESOLUTION", "Mask", "Model",
    "NodeOutput", "Output", "Socket", "String", "UpscaleModel", "Vae", "__version__", "node", "spec_of",
]
