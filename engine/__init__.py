"""Inkgraph's runtime: node specs, validation, scheduling, caching, events.

Plugin authors import the node-authoring API from :mod:`inkgraph` (``from inkgraph import node, Image, Int``);
this package exports the same names.
Nothing in the engine core imports torch; nodes import it when they run.
"""

from .core.api import (
    ANY,
    MATCHTYPE_TYPE,
    MAX_RESOLUTION,
    Allocation,
    Autogrow,
    Boolean,
    CachePolicy,
    Clip,
    Combo,
    Conditioning,
    Context,
    DynamicCombo,
    ExecutionBlocker,
    Float,
    Hidden,
    Image,
    Int,
    Latent,
    Mask,
    MatchType,
    Model,
    NodeOutput,
    Output,
    Socket,
    String,
    UpscaleModel,
    Vae,
    input_spec,
    node,
    spec_of,
)
from .core.context import Interrupted
from .core.graph_builder import GraphBuilder

__version__ = "0.1.0"

__all__ = [
    "ANY", "Allocation", "MATCHTYPE_TYPE", "MAX_RESOLUTION", "Autogrow", "Boolean", "CachePolicy", "Clip", "Combo",
    "Conditioning", "Context", "DynamicCombo", "ExecutionBlocker", "Float", "GraphBuilder", "Hidden", "Image", "Int",
    "Interrupted", "Latent", "Mask", "MatchType", "Model", "NodeOutput", "Output", "Socket", "String",
    "UpscaleModel", "Vae", "__version__", "input_spec", "node", "spec_of",
]
