"""CheckpointSave: write MODEL + CLIP + VAE as one .safetensors file in the original (LDM/SGM) layout that
ComfyUI, A1111 and CheckpointLoaderSimple read; LoRAs applied to the handles are baked in."""

from __future__ import annotations

import json
import os
import re
from typing import Annotated, Any

from inkgraph.engine import Clip, Context, Hidden, Model, NodeOutput, String, Vae, node
from inkgraph.engine.core.paths import PathEscapeError, safe_join


def _next_path(ctx: Context, prefix: str) -> tuple[Any, str]:
    subfolder, _, base = os.path.normpath(prefix).replace("\\", "/").rpartition("/")
    try:
        folder = safe_join(ctx.folders.output, subfolder) if subfolder else ctx.folders.output.resolve()
    except PathEscapeError as exc:
        raise ValueError(f"Saving a checkpoint outside the output folder is not allowed ({prefix!r})") from exc
    folder.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(re.escape(base) + r"_(\d+)_")
    counter = 1 + max((int(m.group(1)) for name in os.listdir(folder) if (m := pattern.match(name))), default=0)
    return folder / f"{base}_{counter:05}_.safetensors", f"{base} {counter}"


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


@node(display_name="CheckpointSave", category="advanced/model_merging", output_node=True, outputs=[])
def CheckpointSave(
    ctx: Context, model: Model, clip: Clip, vae: Vae,
    filename_prefix: Annotated[str, String()] = "checkpoints/ComfyUI",
    prompt: Annotated[Any, Hidden("PROMPT")] = None,
    extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None,
) -> NodeOutput:
    """Saves the model, text encoders and VAE as one checkpoint in the output folder (LoRAs baked in)."""
    from safetensors.torch import save_file

    from .diffusion.checkpoint import METADATA_KEY

    path, title = _next_path(ctx, filename_prefix)
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
    save_file(state, str(path), metadata=metadata)
    return NodeOutput()


NODES = [CheckpointSave]
