"""HiDream's nodes, with ComfyUI's names and inputs: QuadrupleCLIPLoader (CLIP-L, CLIP-G, T5-XXL and Llama 3.1
8B for CLIP type ``hidream``) and CLIPTextEncodeHiDream (a prompt per encoder).

The HiDream model family is ``diffusion/families/hidream.py``; the ``hidream`` prompt recipe and the Llama 3.1
encoder kind are ``diffusion/encoders/hidream.py`` and ``llama3.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from inkgraph.engine import Clip, Context, Socket, String, node

from .loaders import TextEncoder, _clip

PromptText = Annotated[str, String(multiline=True, dynamic_prompts=True)]


@node(category="advanced/loaders",
      description="[Recipes]\n\nhidream: long clip-l, long clip-g, t5xxl, llama_8b_3.1_instruct")
def QuadrupleCLIPLoader(ctx: Context, clip_name1: TextEncoder, clip_name2: TextEncoder, clip_name3: TextEncoder,
                        clip_name4: TextEncoder) -> Clip:
    return _clip(ctx, [clip_name1, clip_name2, clip_name3, clip_name4], "hidream", "default")


@node(category="advanced/conditioning")
def CLIPTextEncodeHiDream(ctx: Context, clip: Clip, clip_l: PromptText, clip_g: PromptText, t5xxl: PromptText,
                          llama: PromptText) -> Annotated[list[Any], Socket(type="CONDITIONING")]:
    """HiDream's four prompts, one per text encoder."""
    from .conditioning import encode_with

    return encode_with(ctx, "CLIPTextEncodeHiDream", clip,
                       texts={"clip_l": clip_l, "clip_g": clip_g, "t5xxl": t5xxl, "llama": llama})


NODES = [QuadrupleCLIPLoader, CLIPTextEncodeHiDream]
