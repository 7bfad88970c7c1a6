"""ComfyUI's ``comfy`` package, as far as V1 packs that work on images, masks and latents use it:
``comfy.utils`` and ``comfy.model_management``."""
