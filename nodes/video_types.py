"""The VIDEO socket type, as ComfyUI has it (``comfy_api.latest.Input.Video``): frames, an optional
soundtrack and a frame rate, behind one interface with two implementations.

- :class:`VideoFromFile` stands for a file on disk (or bytes in memory) and is *lazy*: width, height,
  frame rate, duration and frame count come from the container's headers; frames are decoded only when a
  node asks for :meth:`~VideoInput.get_components`, and saving it unchanged copies the streams without
  decoding at all.
- :class:`VideoFromComponents` holds tensors (CreateVideo's images, audio and fps) and encodes them when
  saved.

The method names are ComfyUI's, so node code written against ComfyUI's VideoInput reads ours the same way.
Images are IMAGE tensors (float32 ``[frames, H, W, 3]`` in 0..1); audio is ComfyUI's AUDIO dict
``{"waveform": [batch, channels, samples], "sample_rate": int}``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from . import media_av
from .media_av import Source


@dataclass
class VideoComponents:
    """A video taken apart: ``images`` [frames, H, W, 3], ``frame_rate``, optional ``audio`` and tags."""

    images: Any
    frame_rate: Fraction
    audio: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


class VideoInput:
    """What every VIDEO value offers. Subclasses override what they can answer without decoding."""

    def get_components(self) -> VideoComponents:
        raise NotImplementedError

    def save_to(self, path: Source, format: str = "auto", codec: str = "auto", metadata: dict[str, Any] | None = None,
                bit_depth: int | None = None, crf: float | None = None, color_space: str | None = None) -> None:
        raise NotImplementedError

    def as_trimmed(self, start_time: float = 0.0, duration: float = 0.0,
                   strict_duration: bool = False) -> VideoInput | None:
        """The part from ``start_time`` (negative: counted from the end) lasting ``duration`` seconds (0: to
        the end); None when ``strict_duration`` and fewer than ``duration`` seconds are left."""
        raise NotImplementedError

    def get_dimensions(self) -> tuple[int, int]:
        """(width, height)."""
        images = self.get_components().images
        return int(images.shape[2]), int(images.shape[1])

    def get_frame_rate(self) -> Fraction:
        return self.get_components().frame_rate

    def get_frame_count(self) -> int:
        return int(self.get_components().images.shape[0])

    def get_duration(self) -> float:
        return self.get_frame_count() / float(self.get_frame_rate())

    def get_bit_depth(self) -> int:
        return 8

    def get_color_space(self) -> str:
        return "sRGB"

    def get_stream_source(self) -> Source:
        """Something PyAV can open: the file itself, or the video encoded into memory (MP4)."""
        buffer = io.BytesIO()
        self.save_to(buffer, format="mp4")
        buffer.seek(0)
        return buffer

    def get_container_format(self) -> str:
        with media_av._open(self.get_stream_source()) as container:
            return str(container.format.name)


def _window(start: float, duration: float, total: float) -> tuple[float, float]:
    """(start, end) seconds of a trim inside ``[0, total]``; a negative start counts from the end."""
    if start < 0:
        start = max(total + start, 0.0)
    end = min(start + duration, total) if duration else total
    return start, max(end, start)


class VideoFromFile(VideoInput):
    """A video file, read lazily; ``start_time``/``duration`` (seconds) select a window of it."""

    def __init__(self, file: str | Path | io.BytesIO, *, start_time: float = 0.0, duration: float = 0.0) -> None:
        self._file: Source = file if isinstance(file, io.BytesIO) else Path(file)
        self._start = float(start_time)
        self._duration = float(duration)
        self._probe: media_av.Probe | None = None

    def __repr__(self) -> str:
        return f"VideoFromFile({self._file!r}, start_time={self._start}, duration={self._duration})"

    @property
    def probe(self) -> media_av.Probe:
        """The container's headers, read once (no frame is decoded)."""
        if self._probe is None:
            self._probe = media_av.probe(self._file)
        return self._probe

    def get_active_trim_window(self) -> tuple[float, float]:
        """(start, duration) in seconds, start made non-negative; duration 0 means to the end."""
        start, end = _window(self._start, self._duration, self.probe.duration)
        return start, (end - start) if self._duration else 0.0

    def get_dimensions(self) -> tuple[int, int]:
        return self.probe.width, self.probe.height

    def get_frame_rate(self) -> Fraction:
        return self.probe.frame_rate

    def get_duration(self) -> float:
        start, end = _window(self._start, self._duration, self.probe.duration)
        return end - start

    def get_frame_count(self) -> int:
        """The stream's frame count from the headers; for a window (or a container that does not count
        them, like WebM) the frames' packets are counted: read, never decoded."""
        if self.probe.frames and not self._start and not self._duration:
            return self.probe.frames
        start, duration = self.get_active_trim_window()
        return media_av.count_frames(self._file, start, duration)

    def get_bit_depth(self) -> int:
        return self.probe.bit_depth

    def get_color_space(self) -> str:
        return self.probe.color_space

    def get_stream_source(self) -> Source:
        if isinstance(self._file, io.BytesIO):
            self._file.seek(0)
            return self._file
        return str(self._file)

    def get_container_format(self) -> str:
        return self.probe.container

    def iter_frames(self) -> Iterator[Any]:
        """Decoded frames of the window, one numpy array at a time."""
        start, duration = self.get_active_trim_window()
        return media_av.iter_frames(self._file, start, duration)

    def get_components(self) -> VideoComponents:
        """Decodes the window: every frame as float32 RGB, the soundtrack, the container's tags."""
        import numpy as np
        import torch

        frames = [torch.from_numpy(np.asarray(a, dtype=np.float32) / (65535.0 if a.dtype.itemsize == 2 else 255.0))
                  for a in self.iter_frames()]
        images = torch.stack(frames) if frames else torch.zeros(0, self.probe.height, self.probe.width, 3)
        start, duration = self.get_active_trim_window()
        decoded = media_av.decode_audio(self._file, start, duration)
        audio = None
        if decoded is not None:
            audio = {"waveform": torch.from_numpy(decoded[0]).unsqueeze(0), "sample_rate": decoded[1]}
        with media_av._open(self._file) as container:
            tags = dict(container.metadata)
        return VideoComponents(images=images, frame_rate=self.probe.frame_rate, audio=audio, metadata=tags)

    def save_to(self, path: Source, format: str = "auto", codec: str = "auto", metadata: dict[str, Any] | None = None,
                bit_depth: int | None = None, crf: float | None = None, color_space: str | None = None) -> None:
        """Copies the streams when nothing asks for re-encoding (same codec, a container that holds them,
        no window, no crf/bit depth/colour change); otherwise decodes frame by frame and re-encodes."""
        container, target_codec = media_av.resolve_output(format, codec)
        untouched = (not self._start and not self._duration and crf is None and color_space is None
                     and bit_depth in (None, self.probe.bit_depth))
        if untouched and media_av.can_remux(self._file, format, codec, container):
            if media_av.remux(self._file, path, container, metadata):
                return
            if isinstance(path, io.BytesIO):
                path.seek(0)
                path.truncate()
        start, duration = self.get_active_trim_window()
        decoded = media_av.decode_audio(self._file, start, duration)
        media_av.write_video(path, self.iter_frames(), width=self.probe.width, height=self.probe.height,
                             frame_rate=self.probe.frame_rate, container=container, codec=target_codec,
                             bit_depth=bit_depth or self.probe.bit_depth, color_space=color_space or "sRGB",
                             crf=crf, metadata=metadata, audio=decoded)

    def as_trimmed(self, start_time: float = 0.0, duration: float = 0.0,
                   strict_duration: bool = False) -> VideoInput | None:
        available = self.get_duration()
        start, end = _window(start_time, duration, available)
        if strict_duration and duration and end - start < duration - 1e-6:
            return None
        offset = _window(self._start, self._duration, self.probe.duration)[0]
        trimmed = VideoFromFile(self._file, start_time=offset + start,
                                duration=(end - start) if (duration or self._duration) else 0.0)
        trimmed._probe = self._probe
        return trimmed

    def cache_nbytes(self) -> int:
        return 256 + (self._file.getbuffer().nbytes if isinstance(self._file, io.BytesIO) else 0)


class VideoFromComponents(VideoInput):
    """A video held as tensors; encoded only when saved. ``bit_depth`` and ``color_space`` say how."""

    def __init__(self, components: VideoComponents, bit_depth: int = 8, color_space: str = "sRGB") -> None:
        if color_space not in media_av.COLOR_SPACES:
            raise ValueError(f"Unsupported video color space: {color_space}")
        self._components = components
        self._bit_depth = int(bit_depth)
        self._color_space = color_space

    def __repr__(self) -> str:
        images = self._components.images
        return f"VideoFromComponents({tuple(images.shape)}, fps={self._components.frame_rate})"

    def get_components(self) -> VideoComponents:
        return self._components

    def get_bit_depth(self) -> int:
        return self._bit_depth

    def get_color_space(self) -> str:
        return self._color_space

    def save_to(self, path: Source, format: str = "auto", codec: str = "auto", metadata: dict[str, Any] | None = None,
                bit_depth: int | None = None, crf: float | None = None, color_space: str | None = None) -> None:
        import torch

        images = self._components.images
        depth = bit_depth or self._bit_depth
        if (color_space or self._color_space) != "sRGB":
            depth = max(depth, 10)

        def frames() -> Iterator[Any]:
            for image in images:
                rgb = image[..., :3].detach().to("cpu", torch.float32)
                if depth >= 10:
                    yield (rgb * 65535).round().clamp(0, 65535).to(torch.int32).numpy().astype("uint16")
                else:
                    yield (rgb * 255).round().clamp(0, 255).to(torch.uint8).numpy()

        audio = self._components.audio
        track = None
        if audio is not None:
            track = (audio["waveform"][0].detach().to("cpu", torch.float32).numpy(), int(audio["sample_rate"]))
        media_av.write_video(path, frames(), width=int(images.shape[2]), height=int(images.shape[1]),
                             frame_rate=Fraction(self._components.frame_rate), container=format, codec=codec,
                             bit_depth=depth, color_space=color_space or self._color_space, crf=crf,
                             metadata=metadata, audio=track)

    def as_trimmed(self, start_time: float = 0.0, duration: float = 0.0,
                   strict_duration: bool = False) -> VideoInput | None:
        """Cuts the tensors: frame ``i`` is shown at ``i / fps``; audio is cut at the same times."""
        rate = self._components.frame_rate
        start, end = _window(start_time, duration, self.get_duration())
        if strict_duration and duration and end - start < duration - 1e-6:
            return None
        first = math.ceil(start * rate - 1e-6)
        last = math.ceil(end * rate - 1e-6)
        audio = self._components.audio
        if audio is not None:
            sr = int(audio["sample_rate"])
            audio = {**audio, "waveform": audio["waveform"][..., round(start * sr): round(end * sr)]}
        components = VideoComponents(images=self._components.images[first:last], frame_rate=rate, audio=audio,
                                     metadata=self._components.metadata)
        return VideoFromComponents(components, self._bit_depth, self._color_space)

    def cache_nbytes(self) -> int:
        audio = self._components.audio
        return int(self._components.images.nbytes) + (int(audio["waveform"].nbytes) if audio is not None else 0)
