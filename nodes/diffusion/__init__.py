"""Diffusion model support behind the built-in nodes: loading, text encoding, sampling, previews.

These modules import torch and diffusers at module level; the node modules import them inside the
node bodies, so listing or validating nodes never pays for them.
"""
