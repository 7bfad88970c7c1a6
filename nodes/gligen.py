"""GLIGEN nodes (ComfyUI's ``nodes.py``): load a GLIGEN model, and put text boxes on a conditioning.

GLIGENTextBoxApply adds to every entry's ``gligen`` option ("position", the GLIGEN, boxes): a box is the
pooled CLIP text of ``text`` (CLIP's end-token state, unprojected) with its height, width, y and x in latent
cells (pixels // 8); boxes added by earlier nodes are kept. How sampling runs them: ``diffusion/gligen.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from inkgraph.engine import Clip, Combo, Conditioning, Context, Int, Socket, String, node
from inkgraph.engine.core.paths import ModelFiles

from . import MAX_RESOLUTION

GLIGEN = Annotated[Any, Socket(type="GLIGEN")]
Size = Annotated[int, Int(min=8, max=MAX_RESOLUTION, step=8)]
Offset = Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=8)]

_gligen_files = ModelFiles("gligen")


@node(category="loaders")
def GLIGENLoader(ctx: Context, gligen_name: Annotated[str, Combo(options=_gligen_files)]) -> GLIGEN:
    """Loads a GLIGEN model (position net and per-block fusers) from models/gligen."""
    from inkgraph.engine.core.devices import torch_dtype

    from .diffusion.gligen import GligenHandle, build
    from .diffusion.state_dict import read_state_dict

    path = ctx.folders.model_path("gligen", gligen_name)
    manager = ctx.models
    key = ("gligen", str(path), path.stat().st_mtime_ns, manager.policy.dtype)
    if key not in manager:
        state, _ = read_state_dict(path)
        manager.add(key, build(state, gligen_name).to(torch_dtype(manager.policy.dtype)))
    return GligenHandle(manager, key)


def pooled_text(clip: Any, text: str, folders: Any = None) -> Any:
    """CLIP's unprojected pooled output of ``text`` (ComfyUI's ``encode_from_tokens(…, return_pooled=
    "unprojected")``): the end token's final state in the first chunk, from CLIP-L (or the CLIP's only
    encoder)."""
    import torch

    from .diffusion.encoders import EncodeRequest
    from .diffusion.encoders.prompt import Reading, chunks_for, encode
    from .diffusion.encoders.sd import mode
    from .diffusion.text import encoder_specs

    slots = clip.slot_names()
    kind, order = mode(slots)
    spec = encoder_specs(kind, None)[0]
    request = EncodeRequest(folders, [])
    with clip.by_slot() as encoders, torch.inference_mode():
        encoder = encoders[order[0]]
        chunks = chunks_for(encoder, text, spec.rules(), request)
        _, pooled = encode(encoder, Reading(-1, True, "unprojected"), chunks, spec.rules())
    return pooled


@node(category="conditioning/gligen")
def GLIGENTextBoxApply(ctx: Context, conditioning_to: Conditioning, clip: Clip, gligen_textbox_model: GLIGEN, *,
                       text: Annotated[str, String(multiline=True, dynamic_prompts=True)], width: Size = 64,
                       height: Size = 64, x: Offset = 0, y: Offset = 0) -> Conditioning:
    """Adds a text box to every entry: GLIGEN steers ``text`` into the box (x, y, width, height in pixels)."""
    if clip is None:
        raise RuntimeError("GLIGENTextBoxApply: clip input is invalid: None (the checkpoint loader found no text "
                           "encoder)")
    pooled = pooled_text(clip, text, ctx.folders)
    box = (pooled, height // 8, width // 8, y // 8, x // 8)
    out = []
    for embedding, options in conditioning_to:
        previous = list(options["gligen"][2]) if "gligen" in options else []
        out.append([embedding, {**options, "gligen": ("position", gligen_textbox_model, [*previous, box])}])
    return out


NODES = [GLIGENLoader, GLIGENTextBoxApply]
