"""ComfyUI's text generation node (``comfy_extras/nodes_textgen.py``): TextGenerate, "Generate Text" — the
language model behind a CLIP (Qwen3-4B, Gemma 2 2B, Qwen2.5-VL with its images) writes a reply to a prompt.

The inputs are those of ComfyUI's version that today's templates were saved with (one ``image`` socket,
``video``, ``audio``, ``mtp`` and ``system_prompt``, two outputs); the chat template is the CLIP type's
(``PromptRecipe.generation_prompt``), the decoding loop ``diffusion/encoders/generate.py``. A reasoning
block (``<think>…</think>``, opened by the model or at the end of a raw prompt) comes out on ``thinking``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from inkgraph.engine import (
    Boolean,
    Combo,
    Context,
    DynamicCombo,
    Float,
    Int,
    Output,
    Socket,
    String,
    input_spec,
    node,
)

log = logging.getLogger(__name__)

SAMPLING_ON = [
    input_spec("temperature", Annotated[float, Float(min=0.01, max=2.0, step=0.000001)], 0.7),
    input_spec("top_k", Annotated[int, Int(min=0, max=1000)], 64),
    input_spec("top_p", Annotated[float, Float(min=0.0, max=1.0, step=0.01)], 0.95),
    input_spec("min_p", Annotated[float, Float(min=0.0, max=1.0, step=0.01)], 0.05),
    input_spec("repetition_penalty", Annotated[float, Float(min=0.0, max=5.0, step=0.01)], 1.05),
    input_spec("seed", Annotated[int, Int(min=0, max=0xffffffffffffffff)], 0),
    input_spec("presence_penalty", Annotated[float, Float(min=0.0, max=5.0, step=0.01, optional=True)], 0.0),
]
MTP_TIP = ("Speculative decoding with the checkpoint's multi-token-prediction head. No effect without MTP weights. "
           "auto adapts the draft depth; 2-5 pins it. Sampled output stays correctly distributed but differs from "
           "non-MTP output for the same seed.")
VIDEO_TIP = "Video frames as image batch. Assumed to be 24 FPS; subsampled to 1 FPS internally."


def _sampling_socket() -> Socket:
    socket = DynamicCombo({"on": SAMPLING_ON, "off": []})
    return Socket(type=socket.type, extra={"display_name": "Sampling Mode", **socket.extra})


def split_thinking(generated: str, prompt: str) -> tuple[str, str]:
    """(answer, reasoning) of a reply, as ComfyUI's TextGenerate splits it: the reasoning opens with
    ``<think>`` in the reply (or at the end of a raw prompt) and closes with ``</think>`` — missing when
    max_length cut it short; with no reasoning block the whole reply is the answer."""
    reasoning, _, text = generated.partition("</think>")
    if not reasoning.lstrip().startswith("<think>") and not prompt.rstrip().endswith("<think>"):
        reasoning, text = "", generated
    return text.strip(), reasoning.replace("<think>", "", 1).strip()


def sampling_settings(sampling_mode: dict[str, Any]) -> Any:
    """The DynamicCombo's value → ``generate.Sampling`` (ComfyUI's fallbacks for absent settings)."""
    from .diffusion.encoders.generate import Sampling

    return Sampling(
        do_sample=sampling_mode.get("sampling_mode") == "on",
        temperature=float(sampling_mode.get("temperature", 1.0)), top_k=int(sampling_mode.get("top_k", 50)),
        top_p=float(sampling_mode.get("top_p", 1.0)), min_p=float(sampling_mode.get("min_p", 0.0)),
        repetition_penalty=float(sampling_mode.get("repetition_penalty", 1.0)),
        presence_penalty=float(sampling_mode.get("presence_penalty", 0.0) or 0.0),
        seed=sampling_mode.get("seed"))


def generate_text(ctx: Context, node_name: str, clip: Any, prompt: str, max_length: int,
                  sampling_mode: dict[str, Any], image: Any = None, thinking: bool = False,
                  use_default_template: bool = True, video: Any = None, audio: Any = None,
                  system_prompt: str = "") -> str:
    """The text the CLIP's language model generates for ``prompt`` (special tokens left out)."""
    import torch

    from .diffusion.encoders import recipe
    from .diffusion.encoders.base import GenerateRequest
    from .diffusion.encoders.generate import generate

    if clip is None:
        raise RuntimeError(f"{node_name}: clip input is invalid: None")
    images = [image[i:i + 1] for i in range(image.shape[0])] if image is not None else []
    request = GenerateRequest(images=images, video=video, audio=audio, thinking=bool(thinking),
                              use_default_template=bool(use_default_template), system_prompt=system_prompt or "")
    chosen = recipe(clip.recipe)
    with torch.inference_mode(), clip.by_slot() as encoders:
        try:
            made = chosen.generation_prompt(encoders, prompt, request)
        except ValueError as exc:
            raise ValueError(f"{node_name}: {exc}") from exc
        if images and made.prefill is None or (video is not None or audio is not None) and made.prefill is None:
            log.warning("%s %s: the %s text encoder reads text only; image, video and audio inputs are ignored",
                        node_name, ctx.node_id, made.slot)
        ids = generate(encoders[made.slot], made, max_length, sampling_settings(sampling_mode),
                       progress=lambda step, total: ctx.progress(step, total))
    return made.decode(ids)


@node(display_name="Generate Text", category="text", description="")
def TextGenerate(
    ctx: Context,
    *,
    clip: Annotated[Any, Socket(type="CLIP")],
    prompt: Annotated[str, String(multiline=True, dynamic_prompts=True)] = "",
    image: Annotated[Any, Socket(type="IMAGE", optional=True)] = None,
    video: Annotated[Any, Socket(type="IMAGE", optional=True, tooltip=VIDEO_TIP)] = None,
    audio: Annotated[Any, Socket(type="AUDIO", optional=True)] = None,
    max_length: Annotated[int, Int(min=1, max=32768)] = 512,
    sampling_mode: Annotated[dict[str, Any], _sampling_socket()],
    thinking: Annotated[bool, Boolean(optional=True, tooltip="Operate in thinking mode if the model supports it.")
                        ] = False,
    use_default_template: Annotated[bool, Boolean(optional=True, extra={"advanced": True}, tooltip=(
        "Use the built in system prompt/template if the model has one."))] = True,
    mtp: Annotated[str, Combo(options=("auto", "off", "2", "3", "4", "5"), optional=True, tooltip=MTP_TIP)] = "auto",
    system_prompt: Annotated[str, String(multiline=False, force_input=True, optional=True, tooltip=(
        "Replaces the system prompt in the model's chat template. Ignored when the default template is not "
        "used."))] = None,  # type: ignore[assignment]
) -> tuple[Annotated[str, Socket(type="STRING"), Output("generated_text")],
           Annotated[str, Socket(type="STRING"), Output("thinking")]]:
    """Generates text with the CLIP's language model; greedy with sampling off, else seeded sampling.
    ``mtp`` has no effect (no supported file carries multi-token-prediction weights)."""
    generated = generate_text(ctx, "TextGenerate", clip, prompt, max_length, sampling_mode or {}, image,
                              thinking, use_default_template, video, audio, system_prompt)
    return split_thinking(generated, prompt)


NODES = [TextGenerate]
