"""CheckpointSave: write MODEL + CLIP + VAE as one .safetensors file in the original (LDM/SGM) layout that
ComfyUI, A1111 and CheckpointLoaderSimple read; LoRAs applied to the handles are baked in."""

from __future__ import annotations

import json
from typing import Annotated, Any

from inkgraph.engine import Clip, Context, Hidden, Model, NodeOutput, String, Vae, node
from inkgraph.engine.core.paths import highest_counter, save_target
from inkgraph.engine.core.safe_write import install, staging_file

from .image_io import check_prefix


def _next_path(ctx: Context, prefix: str) -> tuple[Any, Any, str]:
    """(staged file, final path, title): the checkpoint is written to a new staged file and then given the
    next free ``<base>_NNNNN_.safetensors`` name, so it never lands on an existing name or through a link."""
    try:
        folder, base, _ = save_target(ctx.folders.output, "output", prefix, 0, 0)
    except ValueError as exc:
        raise ValueError(f"Cannot save the checkpoint: {exc}") from exc
    counter = highest_counter(folder, base) + 1
    staged, handle = staging_file(folder)
    handle.close()
    return staged, folder / f"{base}_{counter:05}_.safetensors", f"{base} {counter}"


def _install(staged: Any, path: Any) -> None:
    """Name the written checkpoint; if another save took the number meanwhile, the next one."""
    while True:
        try:
            install(staged, path, overwrite=False)
            return
        except FileExistsError:
            stem = path.name.removesuffix("_.safetensors")
            base, _, number = stem.rpartition("_")
            path = path.with_name(f"{base}_{int(number) + 1:05}_.safetensors")


def state_dict_for(model: Any, clip: Any, vae: Any) -> dict[str, Any]:
    from .diffusion.ldm_format import (
        clip_hf_to_ldm,
        openclip_hf_to_ldm,
        unet_diffusers_to_ldm,
        vae_diffusers_to_ldm,
    )

    if model.family.kind not in ("sd1", "sd2", "sdxl"):
        raise ValueError(f"CheckpointSave writes SD1/SD2/SDXL checkpoints; this model is {model.family.kind}")
    state: dict[str, Any] = {}
    with model.use() as unet:
        state.update(unet_diffusers_to_ldm(unet.state_dict(), unet.config))
    with vae.use() as autoencoder:
        state.update(vae_diffusers_to_ldm(autoencoder.state_dict(), autoencoder.config))
    kind = model.family.kind
    with clip.use() as encoders:
        if kind == "sdxl":
            state.update(clip_hf_to_ldm(encoders[0].state_dict(), "conditioner.embedders.0.transformer."))
            state.update(openclip_hf_to_ldm(encoders[1].state_dict(), "conditioner.embedders.1.model."))
        elif kind == "sd2":
            state.update(openclip_hf_to_ldm(encoders[0].state_dict(), "cond_stage_model.model."))
        else:
            state.update(clip_hf_to_ldm(encoders[0].state_dict(), "cond_stage_model.transformer."))
    return {k: v.detach().to("cpu").contiguous() for k, v in state.items()}


@node(display_name="CheckpointSave", category="advanced/model_merging", output_node=True, outputs=[],
      validate=check_prefix)
def CheckpointSave(
    ctx: Context, model: Model, clip: Clip, vae: Vae,
    filename_prefix: Annotated[str, String()] = "checkpoints/ComfyUI",
    prompt: Annotated[Any, Hidden("PROMPT")] = None,
    extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None,
) -> NodeOutput:
    """Saves the model, text encoders and VAE as one checkpoint in the output folder (LoRAs baked in)."""
    from safetensors.torch import save_file

    from .diffusion.checkpoint import METADATA_KEY

    staged, path, title = _next_path(ctx, filename_prefix)
    family = model.family
    metadata = {METADATA_KEY: json.dumps({"kind": family.kind, **family.configs}, default=list),
                "modelspec.predict_key": "v" if family.prediction == "v_prediction" else "epsilon"}
    if family.kind == "sdxl":
        metadata.update({"modelspec.architecture": "stable-diffusion-xl-v1-base", "modelspec.sai_model_spec": "1.0.0",
                         "modelspec.implementation": "sgm", "modelspec.title": title})
    if prompt is not None:
        metadata["prompt"] = json.dumps(prompt)
    if isinstance(extra_pnginfo, dict):
        metadata.update({key: json.dumps(value) for key, value in extra_pnginfo.items()})
    state = state_dict_for(model, clip, vae)
    if family.prediction == "v_prediction":
        import torch

        state["v_pred"] = torch.tensor([])  # ComfyUI's marker for v-prediction checkpoints
    try:
        save_file(state, str(staged), metadata=metadata)
        _install(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    return NodeOutput()


NODES = [CheckpointSave]
