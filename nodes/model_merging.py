"""Model merging and saving (ComfyUI's nodes_model_merging and nodes_model_merging_model_specific): ModelMergeSimple,
ModelMergeBlocks, ModelMergeSubtract, ModelMergeAdd, CLIPMergeSimple/Subtract/Add, the per-family block mergers
(SD1, SD2, SDXL, SD3 2B, SD3.5 large, Flux.1), ModelSave, CLIPSave, VAESave.

A merge returns the first model's handle with a merge patch added (``diffusion/merge.py``): nothing is computed or
copied until the model is used. Saving writes the model's effective weights (LoRAs and merges applied) in the
layout ComfyUI writes: the diffusion model in its original layout under ``model.diffusion_model.``, each text
encoder in its own file, the VAE in the original (LDM) layout.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from inkgraph.engine import Clip, Context, Float, Hidden, Model, NodeOutput, String, Vae, input_spec, node, spec_of

from .image_io import check_prefix

RATIO = Float(min=0.0, max=1.0, step=0.01)
MULTIPLIER = Annotated[float, Float(min=-10.0, max=10.0, step=0.01)]
MERGING = "advanced/model_merging"
SPECIFIC = "advanced/model_merging/model_specific"
CLIP_SKIP = (".position_ids", ".logit_scale")


def _merged(handle: Any, other: Any, node_name: str, **merge: Any) -> Any:
    from .diffusion.merge import Merge

    if type(handle) is not type(other) or not hasattr(handle, "with_lora"):
        raise ValueError(f"{node_name}: both inputs must be models Inkgraph loaded (got {type(handle).__name__} and "
                         f"{type(other).__name__})")
    return handle.with_lora(Merge(other, **merge))


@node(category=MERGING)
def ModelMergeSimple(model1: Model, model2: Model, ratio: Annotated[float, RATIO] = 1.0) -> Model:
    """Blends two models of the same architecture: ratio 1 keeps model1, 0 gives model2."""
    return _merged(model1, model2, "ModelMergeSimple", mode="ratio", value=ratio)


@node(category=MERGING)
def ModelMergeBlocks(model1: Model, model2: Model, input: Annotated[float, RATIO] = 1.0,  # noqa: A002
                     middle: Annotated[float, RATIO] = 1.0, out: Annotated[float, RATIO] = 1.0) -> Model:
    """Blends two UNets with a ratio for the input blocks, the middle block and the output blocks."""
    blocks = (("input", input), ("middle", middle), ("out", out))
    return _merged(model1, model2, "ModelMergeBlocks", mode="ratio", value=input, blocks=blocks)


@node(category=MERGING)
def ModelMergeSubtract(model1: Model, model2: Model, multiplier: MULTIPLIER = 1.0) -> Model:
    """(model1 − model2) × multiplier: the difference a fine-tune made, for adding to another model."""
    return _merged(model1, model2, "ModelMergeSubtract", mode="subtract", value=multiplier)


@node(category=MERGING)
def ModelMergeAdd(model1: Model, model2: Model) -> Model:
    """model1 + model2 (a difference from ModelMergeSubtract added to a model)."""
    return _merged(model1, model2, "ModelMergeAdd", mode="add")


@node(category=MERGING)
def CLIPMergeSimple(clip1: Clip, clip2: Clip, ratio: Annotated[float, RATIO] = 1.0) -> Clip:
    """Blends two text encoders of the same architecture: ratio 1 keeps clip1, 0 gives clip2."""
    return _merged(clip1, clip2, "CLIPMergeSimple", mode="ratio", value=ratio, skip=CLIP_SKIP)


@node(category=MERGING)
def CLIPMergeSubtract(clip1: Clip, clip2: Clip, multiplier: MULTIPLIER = 1.0) -> Clip:
    """(clip1 − clip2) × multiplier."""
    return _merged(clip1, clip2, "CLIPMergeSubtract", mode="subtract", value=multiplier, skip=CLIP_SKIP)


@node(category=MERGING)
def CLIPMergeAdd(clip1: Clip, clip2: Clip) -> Clip:
    """clip1 + clip2."""
    return _merged(clip1, clip2, "CLIPMergeAdd", mode="add", skip=CLIP_SKIP)


def _block_merger(class_type: str, names: list[str]) -> Any:
    """A per-family block merger: one ratio per block of the original layout (ComfyUI's input names, dots and
    all); the first ratio also applies to whatever no block name covers."""

    @node(class_type=class_type, category=SPECIFIC)
    def merge(model1: Model, model2: Model, **ratios: float) -> Model:
        blocks = tuple((name, float(ratios.get(name, 1.0))) for name in names)
        return _merged(model1, model2, class_type, mode="ratio", value=blocks[0][1], blocks=blocks)

    spec = spec_of(merge)
    template = input_spec("ratio", Annotated[float, RATIO], 1.0)  # then renamed: the names are not identifiers
    extra = tuple(template.model_copy(update={"name": name}) for name in names)
    merge.__node_spec__ = spec.model_copy(update={  # type: ignore[attr-defined]
        "inputs": (*spec.inputs, *extra),
        "description": f"Blends two models block by block ({class_type.removeprefix('ModelMerge')})."})
    return merge


def _unet(blocks: int, dot: str) -> list[str]:
    return ["time_embed.", "label_emb.", *(f"input_blocks.{i}{dot}" for i in range(blocks)),
            *(f"middle_block.{i}{dot}" for i in range(3)), *(f"output_blocks.{i}{dot}" for i in range(blocks)), "out."]


def _mmdit(blocks: int) -> list[str]:
    return ["pos_embed.", "x_embedder.", "context_embedder.", "y_embedder.", "t_embedder.",
            *(f"joint_blocks.{i}." for i in range(blocks)), "final_layer."]


FLUX1 = ["img_in.", "time_in.", "guidance_in", "vector_in.", "txt_in.", *(f"double_blocks.{i}." for i in range(19)),
         *(f"single_blocks.{i}." for i in range(38)), "final_layer."]
MODEL_SPECIFIC = [_block_merger("ModelMergeSD1", _unet(12, ".")), _block_merger("ModelMergeSD2", _unet(12, ".")),
                  _block_merger("ModelMergeSDXL", _unet(9, "")), _block_merger("ModelMergeSD3_2B", _mmdit(24)),
                  _block_merger("ModelMergeSD35_Large", _mmdit(38)), _block_merger("ModelMergeFlux1", FLUX1)]


# -- saving ------------------------------------------------------------------------------------------------

def _metadata(prompt: Any, extra_pnginfo: Any) -> dict[str, str]:
    metadata: dict[str, str] = {}
    if prompt is not None:
        metadata["prompt"] = json.dumps(prompt)
    if isinstance(extra_pnginfo, dict):
        metadata.update({key: json.dumps(value) for key, value in extra_pnginfo.items()})
    return metadata


def _write(ctx: Context, prefix: str, state: dict[str, Any], metadata: dict[str, str]) -> None:
    from safetensors.torch import save_file

    from .checkpoint_save import _install, _next_path

    staged, path, _ = _next_path(ctx, prefix)
    try:
        save_file({k: v.detach().to("cpu").contiguous() for k, v in state.items()}, str(staged), metadata=metadata)
        _install(staged, path)
    finally:
        staged.unlink(missing_ok=True)


@node(category=MERGING, output_node=True, outputs=[], validate=check_prefix)
def ModelSave(ctx: Context, model: Model, filename_prefix: Annotated[str, String()] = "diffusion_models/ComfyUI",
              prompt: Annotated[Any, Hidden("PROMPT")] = None,
              extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None) -> NodeOutput:
    """Saves the diffusion model (LoRAs and merges applied) in its family's original layout, as a file
    UNETLoader reads."""
    from .diffusion.checkpoint import METADATA_KEY

    family = model.family
    detected = family.detected
    if detected is None:
        raise ValueError("ModelSave: this model was not read through the model registry; save it with CheckpointSave")
    with model.use() as module:
        state = {"model.diffusion_model." + k: v for k, v in detected.family.original_state(detected, module).items()}
    metadata = _metadata(prompt, extra_pnginfo)
    metadata["modelspec.predict_key"] = "v" if detected.variant == "v" else "epsilon"
    if detected.family.name in ("sd1", "sd2", "sdxl", "sdxl_refiner"):
        metadata[METADATA_KEY] = json.dumps({"kind": detected.family.name, "unet": detected.config}, default=list)
    _write(ctx, filename_prefix, state, metadata)
    return NodeOutput()


@node(category=MERGING, output_node=True, outputs=[], validate=check_prefix)
def CLIPSave(ctx: Context, clip: Clip, filename_prefix: Annotated[str, String()] = "clip/ComfyUI",
             prompt: Annotated[Any, Hidden("PROMPT")] = None,
             extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None) -> NodeOutput:
    """Saves each text encoder (LoRAs and merges applied) in its own file, named after its slot
    (``clip/ComfyUI_clip_l_00001_.safetensors``), as CLIPLoader reads them."""
    metadata = _metadata(prompt, extra_pnginfo)
    with clip.by_slot() as encoders:
        for slot, encoder in encoders.items():
            _write(ctx, f"{filename_prefix}_{slot}", encoder.state_dict(), metadata)
    return NodeOutput()


@node(category=MERGING, output_node=True, outputs=[], validate=check_prefix)
def VAESave(ctx: Context, vae: Vae, filename_prefix: Annotated[str, String()] = "vae/ComfyUI_vae",
            prompt: Annotated[Any, Hidden("PROMPT")] = None,
            extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None) -> NodeOutput:
    """Saves the VAE in the original (LDM) layout, as VAELoader reads it."""
    from .diffusion.ldm_format import vae_diffusers_to_ldm

    with vae.use() as model:
        if not hasattr(model.config, "block_out_channels") or type(model).__name__ != "AutoencoderKL":
            raise ValueError(f"VAESave: {type(model).__name__} VAEs cannot be written in the original layout yet")
        state = vae_diffusers_to_ldm(model.state_dict(), model.config, prefix="")
    _write(ctx, filename_prefix, state, _metadata(prompt, extra_pnginfo))
    return NodeOutput()


NODES: list[Any] = [ModelMergeSimple, ModelMergeBlocks, ModelMergeSubtract, ModelMergeAdd, CLIPMergeSimple,
                    CLIPMergeSubtract, CLIPMergeAdd, *MODEL_SPECIFIC, ModelSave, CLIPSave, VAESave]
