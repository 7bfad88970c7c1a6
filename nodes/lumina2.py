"""Lumina 2's nodes, with ComfyUI's names, inputs and behaviour (``comfy_extras/nodes_lumina2.py``):
CLIPTextEncodeLumina2 (one of Lumina 2's two system prompts before the user's prompt) and RenormCFG
(classifier-free guidance whose result is kept no longer than the positive prediction times renorm_cfg,
as Lumina-Image-2.0's sampler does).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from inkgraph.engine import Combo, Context, Float, Model, Output, Socket, String, node

from .conditioning import _embedding_files, encode_with

SYSTEM_PROMPT = {
    "superior": "You are an assistant designed to generate superior images with the superior degree of image-text "
                "alignment based on textual prompts or user prompts.",
    "alignment": "You are an assistant designed to generate high-quality images with the highest degree of "
                 "image-text alignment based on textual prompts.",
}
SYSTEM_PROMPT_TIP = ("Lumina2 provide two types of system prompts:Superior: You are an assistant designed to generate "
                     "superior images with the superior degree of image-text alignment based on textual prompts or "
                     "user prompts. Alignment: You are an assistant designed to generate high-quality images with the "
                     "highest degree of image-text alignment based on textual prompts.")


def lumina2_prompt(system_prompt: str, user_prompt: str) -> str:
    """The text Lumina 2 was trained on: ``{system prompt} <Prompt Start> {user prompt}``."""
    return f"{SYSTEM_PROMPT[system_prompt]} <Prompt Start> {user_prompt}"


def _lumina_embedding_files(folders: Any, user_prompt: str | None = None, system_prompt: str | None = None) -> Any:
    return _embedding_files(folders, user_prompt)


@node(display_name="CLIP Text Encode for Lumina2", category="conditioning",
      description="Encodes a system prompt and a user prompt using a CLIP model into an embedding that can be used "
                  "to guide the diffusion model towards generating specific images.",
      fingerprint=_lumina_embedding_files)
def CLIPTextEncodeLumina2(
    ctx: Context,
    *,
    system_prompt: Annotated[str, Combo(options=tuple(SYSTEM_PROMPT), tooltip=SYSTEM_PROMPT_TIP)],
    user_prompt: Annotated[str, String(multiline=True, dynamic_prompts=True, tooltip="The text to be encoded.")],
    clip: Annotated[Any, Socket(type="CLIP", tooltip="The CLIP model used for encoding the text.")],
) -> Annotated[list[Any], Socket(type="CONDITIONING"), Output(
        tooltip="A conditioning containing the embedded text used to guide the diffusion model.")]:
    if clip is None:
        raise RuntimeError("ERROR: clip input is invalid: None\n\nIf the clip is from a checkpoint loader node your "
                           "checkpoint does not contain a valid clip or text encoder model.")
    return encode_with(ctx, "CLIPTextEncodeLumina2", clip, text=lumina2_prompt(system_prompt, user_prompt))


class RenormCfg:
    """sampler_cfg_function: below ``cfg_trunc`` (σ as the sampler passes it), CFG on the first
    ``in_channels`` channels with the result's norm capped at ``renorm_cfg`` × the positive's (0: no cap);
    above it, the positive alone. Extra channels follow the positive."""

    def __init__(self, in_channels: int, cfg_trunc: float, renorm_cfg: float) -> None:
        self.in_channels, self.cfg_trunc, self.renorm_cfg = in_channels, cfg_trunc, renorm_cfg

    def __call__(self, args: dict[str, Any]) -> Any:
        import torch

        cond, uncond = args["cond_denoised"], args["uncond_denoised"]
        channels = self.in_channels
        cond_eps, rest = cond[:, :channels], cond[:, channels:]
        if float(args["timestep"][0]) < self.cfg_trunc:
            half = uncond[:, :channels] + args["cond_scale"] * (cond_eps - uncond[:, :channels])
            if self.renorm_cfg > 0.0:
                dims = tuple(range(1, cond_eps.ndim))
                limit = torch.linalg.vector_norm(cond_eps, dim=dims, keepdim=True) * self.renorm_cfg
                norm = torch.linalg.vector_norm(half, dim=dims, keepdim=True)
                half = torch.where(norm >= limit, half * (limit / norm), half)  # per batch item
        else:
            half = cond_eps
        return args["input"] - torch.cat([half, rest], dim=1)


def _in_channels(model: Any) -> int:
    detected = getattr(getattr(model, "family", None), "detected", None)
    config = detected.config if detected is not None else {}
    return int(config.get("in_channels", 16))


@node(category="advanced/model")
def RenormCFG(model: Model, cfg_trunc: Annotated[float, Float(min=0.0, max=100.0, step=0.01)] = 100,
              renorm_cfg: Annotated[float, Float(min=0.0, max=100.0, step=0.01)] = 1.0) -> Model:
    """Lumina 2's guidance: CFG while σ is below cfg_trunc, its result no longer than renorm_cfg times the
    positive prediction."""
    from .diffusion.patches.options import model_options_of

    try:
        options = model_options_of(model).with_cfg_function(RenormCfg(_in_channels(model), cfg_trunc, renorm_cfg))
        return replace(model, model_options=options)
    except TypeError as exc:
        raise ValueError(f"RenormCFG: cannot patch a MODEL of type {type(model).__name__}") from exc


NODES = [CLIPTextEncodeLumina2, RenormCFG]
