"""Inkgraph's built-in nodes as ComfyUI V1 classes, for packs that do ``nodes.VAEDecode().decode(vae, samples)``
or subclass a core node.

A facade has the V1 attributes (INPUT_TYPES, RETURN_TYPES, RETURN_NAMES, FUNCTION, CATEGORY, OUTPUT_NODE)
and, under ComfyUI's method name and parameter order, calls the built-in node's own implementation. The
names below are ComfyUI 0.8.0's (nodes.py); nodes not listed answer to ``execute`` with their input order.
"""

from __future__ import annotations

from typing import Any

from ..core.context import NodeContext, current_context
from ..core.registry import BUILTIN_PACK, NodeRegistry
from ..core.results import NodeOutput
from ..core.spec import NodeSpec

# class_type: (FUNCTION, positional parameter order) of ComfyUI's implementation.
COMFY_FUNCTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "KSampler": ("sample", ("model", "seed", "steps", "cfg", "sampler_name", "scheduler", "positive", "negative",
                            "latent_image", "denoise")),
    "KSamplerAdvanced": ("sample", ("model", "add_noise", "noise_seed", "steps", "cfg", "sampler_name", "scheduler",
                                    "positive", "negative", "latent_image", "start_at_step", "end_at_step",
                                    "return_with_leftover_noise", "denoise")),
    "CheckpointLoaderSimple": ("load_checkpoint", ("ckpt_name",)),
    "DiffusersLoader": ("load_checkpoint", ("model_path",)),
    "CLIPTextEncode": ("encode", ("clip", "text")),
    "CLIPSetLastLayer": ("set_last_layer", ("clip", "stop_at_clip_layer")),
    "VAEDecode": ("decode", ("vae", "samples")),
    "VAEEncode": ("encode", ("vae", "pixels")),
    "VAEEncodeForInpaint": ("encode", ("vae", "pixels", "mask", "grow_mask_by")),
    "VAEDecodeTiled": ("decode", ("vae", "samples", "tile_size", "overlap", "temporal_size", "temporal_overlap")),
    "VAEEncodeTiled": ("encode", ("vae", "pixels", "tile_size", "overlap", "temporal_size", "temporal_overlap")),
    "VAELoader": ("load_vae", ("vae_name",)),
    "LoraLoader": ("load_lora", ("model", "clip", "lora_name", "strength_model", "strength_clip")),
    "LoraLoaderModelOnly": ("load_lora_model_only", ("model", "lora_name", "strength_model")),
    "EmptyLatentImage": ("generate", ("width", "height", "batch_size")),
    "LatentUpscale": ("upscale", ("samples", "upscale_method", "width", "height", "crop")),
    "LatentUpscaleBy": ("upscale", ("samples", "upscale_method", "scale_by")),
    "LatentFromBatch": ("frombatch", ("samples", "batch_index", "length")),
    "RepeatLatentBatch": ("repeat", ("samples", "amount")),
    "SetLatentNoiseMask": ("set_mask", ("samples", "mask")),
    "SaveLatent": ("save", ("samples", "filename_prefix", "prompt", "extra_pnginfo")),
    "LoadLatent": ("load", ("latent",)),
    "SaveImage": ("save_images", ("images", "filename_prefix", "prompt", "extra_pnginfo")),
    "PreviewImage": ("save_images", ("images", "filename_prefix", "prompt", "extra_pnginfo")),
    "LoadImage": ("load_image", ("image",)),
    "ImageScale": ("upscale", ("image", "upscale_method", "width", "height", "crop")),
    "ImageScaleBy": ("upscale", ("image", "upscale_method", "scale_by")),
    "ImageInvert": ("invert", ("image",)),
    "ImageBatch": ("batch", ("image1", "image2")),
    "ImagePadForOutpaint": ("expand_image", ("image", "left", "top", "right", "bottom", "feathering")),
    "EmptyImage": ("generate", ("width", "height", "batch_size", "color")),
    "ConditioningAverage": ("addWeighted", ("conditioning_to", "conditioning_from", "conditioning_to_strength")),
    "ConditioningCombine": ("combine", ("conditioning_1", "conditioning_2")),
    "ConditioningConcat": ("concat", ("conditioning_to", "conditioning_from")),
    "ConditioningSetArea": ("append", ("conditioning", "width", "height", "x", "y", "strength")),
    "ConditioningZeroOut": ("zero_out", ("conditioning",)),
    "GLIGENLoader": ("load_gligen", ("gligen_name",)),
    "GLIGENTextBoxApply": ("append", ("conditioning_to", "clip", "gligen_textbox_model", "text", "width", "height",
                                      "x", "y")),
}


# input name → the class attribute ComfyUI's node classes list its choices under
CHOICE_ATTRIBUTES = {"upscale_method": "upscale_methods", "crop": "crop_methods"}


class _Detached:
    """The reporter of a context made for a call outside any running prompt: progress goes nowhere."""

    def interrupted(self) -> bool:
        return False

    def request_interrupt(self) -> None:
        return None

    def report_progress(self, node_id: str, value: float, maximum: float, preview: Any, fmt: str) -> None:
        return None

    def report_text(self, node_id: str, text: str) -> None:
        return None


def _context_for(spec: NodeSpec) -> NodeContext:
    ctx = current_context()
    if ctx is not None:
        return ctx
    from ..core.devices import ModelManager
    from . import folders

    return NodeContext(_Detached(), node_id="", display_node_id="", class_type=spec.class_type, prompt_id="",
                       prompt={}, extra_data={}, folders=folders(), models=ModelManager())


def facade(spec: NodeSpec) -> type:
    """A V1 class that runs ``spec``'s implementation."""
    from ..core.object_info import node_info

    function, order = COMFY_FUNCTIONS.get(spec.class_type, ("execute", tuple(i.name for i in spec.inputs)))
    # ComfyUI's node classes list some combo choices as class attributes (ImageScale.upscale_methods …).
    choice_lists = {attribute: list(i.choices or ()) for i in spec.inputs
                    for name, attribute in CHOICE_ATTRIBUTES.items() if i.name == name and i.choices}
    names = {i.name for i in spec.inputs} | set(spec.hidden)

    def INPUT_TYPES(cls: type) -> dict[str, Any]:
        from . import folders

        return node_info(spec, folders())["input"]  # type: ignore[no-any-return]

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        from .values import to_comfy, to_inkgraph

        inputs = {**dict(zip(order, args, strict=False)), **kwargs}
        inputs = {k: to_inkgraph(v) for k, v in inputs.items() if k in names and v is not None}
        if "_instance" not in self.__dict__:  # a subclass that did not call our __init__
            self._instance = spec.impl.create_instance()
        out: NodeOutput = spec.impl.execute(self._instance, _context_for(spec), inputs)
        result = to_comfy(out.result) if out.result is not None else ()
        return {"ui": out.ui, "result": result} if out.ui else result

    def __init__(self: Any) -> None:
        self._instance = spec.impl.create_instance()

    return type(spec.class_type, (), {
        "__init__": __init__,
        "INPUT_TYPES": classmethod(INPUT_TYPES),
        "RETURN_TYPES": tuple(list(o.type) if isinstance(o.type, tuple) else o.type for o in spec.outputs),
        "RETURN_NAMES": tuple(o.name for o in spec.outputs),
        "OUTPUT_IS_LIST": tuple(o.is_list for o in spec.outputs),
        "FUNCTION": function,
        "CATEGORY": spec.category,
        "DESCRIPTION": spec.description,
        "OUTPUT_NODE": spec.output_node,
        "DISPLAY_NAME": spec.display_name,
        "INKGRAPH_BUILTIN": True,
        function: run,
        "__doc__": f"ComfyUI-style class for Inkgraph's built-in {spec.class_type} node.",
        "__module__": "nodes",
        **choice_lists,
    })


def builtin_classes(registry: NodeRegistry) -> dict[str, type]:
    """class_type → facade for every built-in node of ``registry`` (built once per registry, on first use)."""
    cached: dict[str, type] | None = registry.__dict__.get("_v1_facades")
    if cached is None:
        cached = {spec.class_type: facade(spec) for spec in registry
                  if registry.pack_of(spec.class_type) == BUILTIN_PACK}
        registry.__dict__["_v1_facades"] = cached
    return cached
