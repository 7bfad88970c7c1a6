"""ComfyUI's state-dict keys on Inkgraph's models, for ``add_patches`` and ``model_state_dict``.

ComfyUI names a MODEL's tensors ``diffusion_model.<module>.<param>`` and a CLIP's ``<slot>.transformer.<module>
.<param>`` (``clip_l.transformer.text_model.encoder.layers.0.mlp.fc1.weight``). The module part is matched the
way LoRA keys are (``lora.module_targets``): the network's own (diffusers / transformers) names, and for the
diffusion model also its original-layout names (LDM for SD's UNet, BFL's for Flux …), so weight patches
written against ComfyUI's names find their modules.
"""

from __future__ import annotations

from typing import Any

from ..stubs import Unavailable


def _targets(handle: Any) -> list[tuple[str, str, Any, dict[str, Any]]]:
    """(key prefix, LoRA group, module, its LoRA names) for each network of a MODEL or CLIP handle."""
    from inkgraph.nodes.diffusion.handles import ClipHandle
    from inkgraph.nodes.diffusion.lora import module_targets

    if isinstance(handle, ClipHandle):
        with handle.use() as encoders:
            return [(f"{slot}.transformer.", group, encoder, module_targets(encoder))
                    for slot, group, encoder in zip(handle.slot_names(), handle.lora_targets(), encoders, strict=False)]
    with handle.manager.use(handle.key) as (unet,):
        detected = handle.family.detected
        names = detected.family.lora_names(detected, unet) if detected is not None else None
        config = getattr(unet, "config", None) if names is None else None
        return [("diffusion_model.", "unet", unet, module_targets(unet, config, names))]


def weight_patch_file(handle: Any, patches: dict[Any, Any], strength_model: float) -> tuple[Any, list[Any]]:
    """One ``add_patches`` call as a LoRA file of ``WeightPatch`` entries, and the keys that found a tensor."""
    from inkgraph.nodes.diffusion.lora import LoraFile
    from inkgraph.nodes.diffusion.weight_patches import WeightPatch

    targets = _targets(handle)
    file = LoraFile("add_patches")
    used: list[Any] = []
    for key, value in patches.items():
        name, offset = (key, None) if isinstance(key, str) else (key[0], key[1])
        if not isinstance(key, str) and len(key) > 2 and key[2] is not None:
            raise Unavailable("ComfyUI's comfy.model_patcher.ModelPatcher.add_patches with a weight function in the "
                              "key is not available in Inkgraph yet")
        for prefix, group, _module, index in targets:
            if not name.startswith(prefix):
                continue
            path, _, param = name[len(prefix):].rpartition(".")
            flat = path.replace(".", "_")
            if param in ("weight", "bias") and flat in index:
                file.patches.setdefault(group, {})[name] = WeightPatch(value, flat, param, strength_model,
                                                                       tuple(offset) if offset is not None else None)
                used.append(key)
            break
    return file, used


def state_dict_of(handle: Any, prefix: str = "", filter_prefix: str | None = None) -> dict[str, Any]:
    """The tensors of a MODEL (``diffusion_model.…``) or CLIP (``clip_l.transformer.…``) as this value has them
    (its LoRAs and patches applied), copied to the CPU."""
    from inkgraph.nodes.diffusion.handles import ClipHandle

    out: dict[str, Any] = {}
    if isinstance(handle, ClipHandle):
        with handle.use() as encoders:
            for slot, encoder in zip(handle.slot_names(), encoders, strict=False):
                for key, value in encoder.state_dict().items():
                    if slot.startswith("clip_") and not key.startswith(("text_model.", "text_projection")):
                        key = f"text_model.{key}"  # ComfyUI's CLIP keys keep transformers' CLIPTextModel names
                    out[f"{slot}.transformer.{key}"] = value.detach().to("cpu", copy=True)
    else:
        with handle.use() as module:
            for key, value in module.state_dict().items():
                out[f"{prefix}{key}"] = value.detach().to("cpu", copy=True)
    if filter_prefix is not None:
        out = {k: v for k, v in out.items() if k.startswith(filter_prefix)}
    return out
