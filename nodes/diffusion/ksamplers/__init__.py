"""ComfyUI's samplers, written from their published update rules, one module per family of methods.

The registry of names (``nodes.diffusion.samplers``) builds on these; see ``common`` for the conventions.
"""
