"""LTX-Video's model and image nodes (ComfyUI's ``nodes_lt``): ModelSamplingLTXV, which sets the flow shift
from the latent's token count, and LTXVPreprocess, which passes an image through one frame of H.264 so a
start image looks like the video frames the model was trained on. The latent and conditioning nodes are in
:mod:`.video_latents`.
"""

from __future__ import annotations

import io
import math
from typing import Annotated, Any

from inkgraph.engine import Float, Image, Int, Model, Output, Socket, node

Shift = Annotated[float, Float(min=0.0, max=100.0, step=0.01)]
BASE_TOKENS, MAX_TOKENS = 1024, 4096


def token_shift(tokens: int, max_shift: float, base_shift: float) -> float:
    """The shift at a token count: base_shift at 1,024 tokens, max_shift at 4,096, linear (and beyond)."""
    slope = (max_shift - base_shift) / (MAX_TOKENS - BASE_TOKENS)
    return tokens * slope + base_shift - slope * BASE_TOKENS


@node(category="model/patch/ltxv")
def ModelSamplingLTXV(model: Model, max_shift: Shift = 2.05, base_shift: Shift = 0.95,
                      latent: Annotated[dict[str, Any] | None, Socket(type="LATENT", optional=True)] = None) -> Model:
    """Flux's exponential flow schedule with the shift for the latent's token count (4,096 without one)."""
    from dataclasses import replace

    from .diffusion import model_sampling as ms

    tokens = MAX_TOKENS if latent is None else math.prod(latent["samples"].shape[2:])
    sampling = ms.combine(ms.ModelSamplingFlux, ms.CONST, shift=token_shift(tokens, max_shift, base_shift))
    return replace(model, sampling_override=sampling)


def compress(frame: Any, crf: int) -> Any:
    """One image [H, W, 3] in [0, 1] through H.264 at ``crf`` (libx264, veryfast, yuv420p), cut to even sides."""
    import av
    import numpy as np
    import torch

    if crf == 0:
        return frame
    pixels = (frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2] * 255.0).byte().cpu().numpy()
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=1, options={"crf": str(crf), "preset": "veryfast"})
        stream.height, stream.width = pixels.shape[0], pixels.shape[1]
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24").reformat(format="yuv420p")
        container.mux(stream.encode(picture))
        container.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer) as container:
        decoded = next(container.decode(video=0)).to_ndarray(format="rgb24")
    return torch.tensor(decoded, dtype=frame.dtype, device=frame.device) / 255.0


@node(display_name="LTXV Preprocess", category="video/preprocessors")
def LTXVPreprocess(image: Image, img_compression: Annotated[int, Int(
        min=0, max=100, tooltip="Amount of compression to apply on image.")] = 35
) -> Annotated[Any, Socket(type="IMAGE"), Output("output_image")]:
    """Each image compressed as one H.264 frame (0: unchanged)."""
    import torch

    return torch.stack([compress(frame, img_compression) for frame in image])


NODES = [ModelSamplingLTXV, LTXVPreprocess]
