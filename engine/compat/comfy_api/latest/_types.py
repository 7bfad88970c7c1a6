"""The value types ``comfy_api.latest`` names (``Input.Image``, ``Types.VideoComponents`` …).

Images, masks and latents are plain tensors and dicts, as in ComfyUI. Video needs PyAV decoding that
Inkgraph does not wire up yet: the video classes are stand-ins that raise when a node uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

from ...stubs import stand_in

ImageInput = Any  # torch.Tensor [B, H, W, C]
MaskInput = Any  # torch.Tensor [B, H, W]
AudioInput = dict[str, Any]  # {"waveform": tensor, "sample_rate": int}
LatentInput = dict[str, Any]  # {"samples": tensor, …}
VideoInput = stand_in("comfy_api.latest.Input.Video")
VideoFromFile = stand_in("comfy_api.latest.InputImpl.VideoFromFile")
VideoFromComponents = stand_in("comfy_api.latest.InputImpl.VideoFromComponents")


class VideoContainer(StrEnum):
    AUTO = "auto"
    MP4 = "mp4"

    @classmethod
    def as_input(cls) -> list[str]:
        """The containers, as a combo's options."""
        return [member.value for member in cls]

    @classmethod
    def get_extension(cls, value: str | VideoContainer) -> str:
        return "mp4" if cls(value) in (cls.AUTO, cls.MP4) else str(value)


class VideoCodec(StrEnum):
    AUTO = "auto"
    H264 = "h264"

    @classmethod
    def as_input(cls) -> list[str]:
        """The codecs, as a combo's options."""
        return [member.value for member in cls]


@dataclass
class VideoComponents:
    """A video as frames, optional audio and a frame rate."""

    images: Any
    audio: Any = None
    frame_rate: Fraction = Fraction(0)
    metadata: dict[str, Any] | None = None
