"""PyAV (``av``, the FFmpeg binding ComfyUI uses) behind a few plain functions: probe a file without
decoding it, decode a window of video frames or audio samples, encode frames and a soundtrack into a
container, copy streams into another container without re-encoding.

Everything here speaks numpy (frames as ``uint8``/``uint16`` ``[H, W, C]`` arrays, audio as float32
``[channels, samples]``); the VIDEO and AUDIO types in :mod:`.video_types` and :mod:`.audio_io` turn that
into ComfyUI's tensors. Timestamps are compared in seconds, with a tolerance far below any frame interval.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Source = str | Path | io.BytesIO
EPS = 1e-6  # seconds: below any frame or sample interval we meet

# Output containers and codecs as ComfyUI offers them (its VideoContainer / VideoCodec).
CONTAINERS = ("auto", "mp4", "mkv", "webm")
CODECS = ("auto", "h264", "av1")
_MUXERS = {"mp4": "mp4", "mkv": "matroska", "webm": "webm"}
ENCODERS = {"h264": "libx264", "av1": "libsvtav1", "vp9": "libvpx-vp9"}
_WEBM_CODECS = {"video": {"av1", "vp8", "vp9"}, "audio": {"opus", "vorbis"}}
COLOR_SPACES = ("sRGB", "HDR", "HDR PQ")
_LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}


def require_av() -> Any:
    """The ``av`` module, or an error that says how to get it."""
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is a dependency; a trimmed install may lack it
        raise RuntimeError("Video and audio nodes need PyAV, the FFmpeg binding ComfyUI uses "
                           "(a dependency of inkgraph that this environment lacks): pip install av") from exc
    return av


def _open(source: Source, **kwargs: Any) -> Any:
    if isinstance(source, io.BytesIO):
        source.seek(0)
    elif isinstance(source, Path):
        source = str(source)
    return require_av().open(source, **kwargs)


def resolve_output(container: str, codec: str) -> tuple[str, str]:
    """ComfyUI's rule: ``auto`` container is WebM for AV1 and MP4 otherwise; ``auto`` codec is AV1 in WebM
    and H.264 elsewhere; WebM holds only AV1 among the codecs offered."""
    if container not in CONTAINERS or codec not in CODECS:
        raise ValueError(f"unknown container/codec {container!r}/{codec!r}")
    if container == "auto":
        container = "webm" if codec == "av1" else "mp4"
    if codec == "auto":
        codec = "av1" if container == "webm" else "h264"
    if container == "webm" and codec != "av1":
        raise ValueError("WebM output requires the AV1 codec")
    return container, codec


@dataclass(frozen=True)
class Probe:
    """What the container's headers say about a file: nothing here needs a decoded frame."""

    width: int
    height: int
    frame_rate: Fraction
    frames: int  # 0 when the container does not count them
    duration: float  # seconds, whole file
    bit_depth: int
    color_space: str
    codec: str
    container: str  # FFmpeg's demuxer names, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    has_audio: bool


def probe(source: Source) -> Probe:
    with _open(source) as container:
        if not container.streams.video:
            raise ValueError(f"No video stream found in {_name(source)}")
        stream = container.streams.video[0]
        rate = Fraction(stream.average_rate) if stream.average_rate else Fraction(1)
        frames = int(stream.frames or 0)
        if container.duration is not None:
            duration = float(container.duration) / 1_000_000
        elif stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = frames / float(rate) if frames else 0.0
        fmt = stream.format
        bits = max((c.bits for c in fmt.components), default=8) if fmt is not None else 8
        trc = getattr(stream.codec_context, "color_trc", None)
        color = {18: "HDR", 16: "HDR PQ"}.get(int(trc) if trc is not None else 0, "sRGB")  # ARIB STD-B67, ST 2084
        return Probe(width=stream.width, height=stream.height, frame_rate=rate, frames=frames, duration=duration,
                     bit_depth=bits, color_space=color, codec=stream.codec_context.name,
                     container=container.format.name, has_audio=_audio_stream(container) is not None)


def _name(source: Source) -> str:
    return "the video in memory" if isinstance(source, io.BytesIO) else f"'{source}'"


def _audio_stream(container: Any) -> Any:
    """The last audio stream FFmpeg can decode (one without a codec context would crash the decoder)."""
    return next((s for s in reversed(container.streams.audio) if s.codec_context is not None), None)


def _window_test(start: float, duration: float) -> Any:
    end = start + duration if duration else None
    return lambda t: t >= start - EPS and (end is None or t < end - EPS)


def iter_frames(source: Source, start: float = 0.0, duration: float = 0.0) -> Iterator[Any]:
    """Decoded frames (numpy ``uint8`` RGB, or ``uint16`` RGB for sources deeper than 8 bits) whose time lies
    in ``[start, start + duration)`` (``duration`` 0: to the end), counted from the stream's first frame."""
    import numpy as np

    inside = _window_test(start, duration)
    with _open(source) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        base = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        if start > 1.0:
            container.seek(int((start + base - 1.0) / stream.time_base), stream=stream, backward=True)
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base) - base if frame.pts is not None else 0.0
            if duration and t >= start + duration - EPS:
                break
            if not inside(t):
                continue
            deep = max((c.bits for c in frame.format.components), default=8) > 8
            array = frame.to_ndarray(format="rgb48le" if deep else "rgb24")
            if frame.rotation:
                array = np.ascontiguousarray(np.rot90(array, k=int(round(frame.rotation / 90)) % 4))
            yield array


def decode_audio(source: Source, start: float = 0.0, duration: float = 0.0) -> tuple[Any, int] | None:
    """The audio track as float32 ``[channels, samples]`` and its sample rate (None when there is none),
    cut to the same window as :func:`iter_frames`."""
    import numpy as np

    av = require_av()
    with _open(source) as container:
        stream = _audio_stream(container)
        if stream is None:
            return None
        resampler = av.audio.resampler.AudioResampler(format="fltp")
        chunks: list[Any] = []
        first: float | None = None
        rate = 0
        for packet in container.demux(stream):
            try:
                decoded = packet.decode()
            except av.error.InvalidDataError:
                continue
            for frame in decoded:
                for out in resampler.resample(frame):
                    if first is None:
                        first = float(out.pts * out.time_base) if out.pts is not None else 0.0
                    rate = out.sample_rate
                    chunks.append(out.to_ndarray())
        if not chunks or not rate:
            return None
        data = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
        skip = max(0, int(round((start - (first or 0.0)) * rate)))
        data = data[:, skip:]
        if duration:
            data = data[:, : int(round(duration * rate))]
        return np.ascontiguousarray(data), int(rate)


def _set_color(target: Any, color_space: str) -> None:
    from av.video.reformatter import ColorPrimaries, ColorRange, ColorTrc

    hdr = color_space in ("HDR", "HDR PQ")
    target.color_primaries = ColorPrimaries.BT2020 if hdr else ColorPrimaries.BT709
    target.color_trc = {"HDR": ColorTrc.ARIB_STD_B67, "HDR PQ": ColorTrc.SMPTE2084}.get(
        color_space, ColorTrc.IEC61966_2_1)
    target.colorspace = 9 if hdr else 1  # BT.2020 non-constant / BT.709
    target.color_range = ColorRange.MPEG


def _container_options(target: Source, container: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"mode": "w", "format": _MUXERS[container]}
    if container == "mp4":  # keep our prompt/workflow tags; faststart needs to reopen a real file
        kwargs["options"] = {"movflags": "use_metadata_tags" if isinstance(target, io.BytesIO)
                             else "use_metadata_tags+faststart"}
    return kwargs


def _write_metadata(output: Any, metadata: dict[str, Any] | None) -> None:
    for key, value in (metadata or {}).items():
        output.metadata[key] = value if isinstance(value, str) else json.dumps(value)


def write_video(target: Source, frames: Iterable[Any], *, width: int, height: int, frame_rate: Fraction,
                container: str = "auto", codec: str = "auto", bit_depth: int = 8, color_space: str = "sRGB",
                crf: float | None = None, metadata: dict[str, Any] | None = None,
                audio: tuple[Any, int] | None = None, frame_count: int | None = None) -> None:
    """Encode RGB frames (``uint8`` ``[H, W, 3]``, or ``uint16`` for 10 bits) and an optional soundtrack
    (float32 ``[channels, samples]``, rate), cut to the video's length as ComfyUI does."""
    av = require_av()
    container, codec = resolve_output(container, codec)
    if color_space not in COLOR_SPACES:
        raise ValueError(f"Unsupported video color space: {color_space}")
    if color_space != "sRGB":
        bit_depth = max(bit_depth, 10)
    if codec == "h264" and (width % 2 or height % 2):
        raise ValueError(f"H.264 output requires even dimensions, got {width}x{height}")
    pix_fmt = "yuv420p10le" if bit_depth >= 10 else "yuv420p"
    rate = Fraction(round(frame_rate * 1000), 1000)
    written = 0
    with _open(target, **_container_options(target, container)) as output:
        _write_metadata(output, metadata)
        stream = output.add_stream(ENCODERS[codec], rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        options = {"crf": str(crf)} if crf is not None else {}
        if codec == "av1":
            options.setdefault("preset", "8")
        stream.options = options
        _set_color(stream.codec_context, color_space)
        sound = _AudioTrack(output, container, audio) if audio is not None else None  # streams before data
        dst = 9 if color_space != "sRGB" else 1
        for array in frames:
            fmt = "rgb48le" if array.dtype.itemsize == 2 else "rgb24"
            frame = av.VideoFrame.from_ndarray(array, format=fmt).reformat(format=pix_fmt, dst_colorspace=dst)
            _set_color(frame, color_space)
            output.mux(stream.encode(frame))
            written += 1
        output.mux(stream.encode(None))
        if sound is not None:
            sound.write(float(written / rate))


class _AudioTrack:
    """A soundtrack's stream, added with the video's (FFmpeg fixes the streams before the first packet)
    and written once the video's length is known: AAC at the clip's rate, Opus at 48 kHz in WebM."""

    def __init__(self, output: Any, container: str, audio: tuple[Any, int]) -> None:
        import numpy as np

        waveform, self.rate = np.asarray(audio[0], dtype=np.float32), int(audio[1])
        if waveform.shape[0] not in _LAYOUTS:
            waveform = waveform[:2] if waveform.shape[0] > 2 else waveform[:1]
        self.waveform, self.layout = waveform, _LAYOUTS[waveform.shape[0]]
        self.out_rate = 48000 if container == "webm" else self.rate
        self.output = output
        self.stream = output.add_stream("libopus" if container == "webm" else "aac", rate=self.out_rate,
                                        layout=self.layout)

    def write(self, seconds: float) -> None:
        """The clip cut to ``seconds`` (ComfyUI's rule: ceil(rate × seconds) samples)."""
        import math

        import numpy as np

        av = require_av()
        clip = np.ascontiguousarray(self.waveform[:, : math.ceil(self.rate * seconds)])
        if clip.shape[1]:
            frame = av.AudioFrame.from_ndarray(clip, format="fltp", layout=self.layout)
            frame.sample_rate, frame.pts, frame.time_base = self.rate, 0, Fraction(1, self.rate)
            frames = [frame]
            if self.out_rate != self.rate:
                resampler = av.audio.resampler.AudioResampler(format="fltp", layout=self.layout, rate=self.out_rate)
                frames = [*resampler.resample(frame), *resampler.resample(None)]
            for item in frames:
                self.output.mux(self.stream.encode(item))
        self.output.mux(self.stream.encode(None))


def can_remux(source: Source, format: str, codec: str, container: str) -> bool:
    """Whether the file's streams can be copied as they are: the codec asked for is ``auto`` or the
    source's, the container asked for is ``auto`` or the source's, and WebM gets only what it can hold."""
    with _open(source) as src:
        if not src.streams.video:
            return False
        if format != "auto" and _MUXERS[format] not in src.format.name.split(","):
            return False
        if codec != "auto" and codec != src.streams.video[0].codec_context.name:
            return False
        for stream in src.streams if container == "webm" else ():
            allowed = _WEBM_CODECS.get(stream.type)
            if allowed is not None and stream.codec_context is not None and stream.codec_context.name not in allowed:
                return False
        return True


def remux(source: Source, target: Source, container: str, metadata: dict[str, Any] | None) -> bool:
    """Copy every video, audio and subtitle stream packet by packet into ``container``; the source's tags
    are kept and ``metadata`` is written over them. False (the target is to be rewritten) when the
    container cannot hold one of the streams."""
    av = require_av()
    try:
        with _open(source) as src, _open(target, **_container_options(target, container)) as output:
            for key, value in src.metadata.items():
                if not metadata or key not in metadata:
                    output.metadata[key] = value
            _write_metadata(output, metadata)
            mapping = {}
            for stream in src.streams:
                if stream.type in ("video", "audio", "subtitle") and stream.codec_context is not None:
                    mapping[stream] = output.add_stream_from_template(template=stream)
            for packet in src.demux():
                # Matroska leaves the dts of the first frames unset when frames are reordered: keep those.
                if packet.stream in mapping and packet.size and (packet.dts is not None or packet.pts is not None):
                    packet.stream = mapping[packet.stream]
                    output.mux(packet)
    except (ValueError, av.error.FFmpegError) as exc:
        log.info("cannot copy the streams into %s (%s); re-encoding instead", container, exc)
        return False
    return True


def count_frames(source: Source, start: float = 0.0, duration: float = 0.0) -> int:
    """Video frames whose time lies in the window, counted from the packets (demuxed, not decoded)."""
    inside = _window_test(start, duration)
    with _open(source) as container:
        stream = container.streams.video[0]
        base = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        return sum(1 for packet in container.demux(stream)
                   if packet.size and packet.pts is not None and inside(float(packet.pts * stream.time_base) - base))


def write_webm(target: Source, frames: Iterable[Any], *, width: int, height: int, fps: float, codec: str,
               crf: float, metadata: dict[str, Any] | None, alpha: bool) -> None:
    """SaveWEBM's encoding: VP9 (``yuva420p`` when ``alpha``) or AV1 (10-bit), constant quality ``crf``,
    frames as ``uint8`` RGB or RGBA arrays."""
    av = require_av()
    with _open(target, mode="w", format="webm") as output:
        _write_metadata(output, metadata)
        stream = output.add_stream(ENCODERS[codec], rate=Fraction(round(fps * 1000), 1000))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuva420p" if alpha else ("yuv420p10le" if codec == "av1" else "yuv420p")
        stream.bit_rate = 0
        stream.options = {"crf": str(crf), **({"preset": "6"} if codec == "av1" else {})}
        for array in frames:
            frame = av.VideoFrame.from_ndarray(array, format="rgba" if alpha else "rgb24")
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))


AUDIO_ENCODERS = {"flac": "flac", "mp3": "libmp3lame", "opus": "libopus"}
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
_BIT_RATES = {"64k": 64000, "96k": 96000, "128k": 128000, "192k": 192000, "320k": 320000}


def write_audio(target: Source, waveform: Any, sample_rate: int, *, format: str = "flac", quality: str = "128k",
                metadata: dict[str, Any] | None = None) -> None:
    """One clip (float32 ``[channels, samples]``) as FLAC, MP3 (``V0`` / ``128k`` / ``320k``) or Opus (a
    bit rate; the sample rate raised to one Opus supports), as ComfyUI's SaveAudio family writes them."""
    import numpy as np

    av = require_av()
    waveform = np.asarray(waveform, dtype=np.float32)
    if waveform.shape[0] > 2:
        waveform = waveform[:2]
    layout = "mono" if waveform.shape[0] == 1 else "stereo"
    rate = int(sample_rate)
    if format == "opus" and rate not in _OPUS_RATES:
        rate = next((r for r in _OPUS_RATES if r > rate), 48000)
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(waveform), format="fltp", layout=layout)
    frame.sample_rate, frame.pts, frame.time_base = int(sample_rate), 0, Fraction(1, int(sample_rate))
    frames = [frame]
    if rate != sample_rate:
        resampler = av.audio.resampler.AudioResampler(format="fltp", layout=layout, rate=rate)
        frames = [*resampler.resample(frame), *resampler.resample(None)]
    with _open(target, mode="w", format=format) as output:
        _write_metadata(output, metadata)
        stream = output.add_stream(AUDIO_ENCODERS[format], rate=rate, layout=layout)
        if format == "mp3" and quality == "V0":
            stream.codec_context.qscale = 1
        elif format in ("mp3", "opus") and quality in _BIT_RATES:
            stream.bit_rate = _BIT_RATES[quality]
        for item in frames:
            output.mux(stream.encode(item))
        output.mux(stream.encode(None))
