"""ComfyUI's audio editing nodes (comfy_extras/nodes_audio.py): EmptyAudio, TrimAudioDuration,
SplitAudioChannels, AudioConcat, AudioMerge and AudioAdjustVolume, on the AUDIO value
``{"waveform": float32 [batch, channels, samples], "sample_rate": int}``.

Two clips at different rates are brought to the higher rate first, as ComfyUI does; the resampling is
libswresample's through PyAV (a dependency already, for video) rather than torchaudio's.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from inkgraph.engine import Combo, Float, Int, Output, Socket, node

from . import media_av

log = logging.getLogger(__name__)

CATEGORY = "audio"
Audio = Annotated[Any, Socket(type="AUDIO")]
HUGE = 0xFFFFFFFFFFFFFFFF


def _audio(value: Any, node_name: str, input_name: str) -> tuple[Any, int]:
    """(waveform [B, C, N], sample rate) of an AUDIO value, or a clear error naming the node and input."""
    import torch

    if not isinstance(value, dict) or not isinstance(value.get("waveform"), torch.Tensor) \
            or value["waveform"].ndim != 3 or "sample_rate" not in value:
        raise ValueError(f"{node_name}: input '{input_name}' is not an AUDIO value (a waveform [batch, channels, "
                         "samples] and a sample_rate)")
    return value["waveform"], int(value["sample_rate"])


def resample(waveform: Any, rate: int, new_rate: int) -> Any:
    """``waveform`` [B, C, N] from ``rate`` to ``new_rate`` Hz, channel by channel (libswresample)."""
    import numpy as np
    import torch

    av = media_av.require_av()
    rows = []
    for channel in waveform.reshape(-1, waveform.shape[-1]).float().cpu().numpy():
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(channel[None, :]), format="fltp", layout="mono")
        frame.sample_rate = rate
        resampler = av.audio.resampler.AudioResampler(format="fltp", layout="mono", rate=new_rate)
        pieces = [*resampler.resample(frame), *resampler.resample(None)]
        rows.append(np.concatenate([p.to_ndarray()[0] for p in pieces]) if pieces else np.zeros(0, np.float32))
    length = min(len(r) for r in rows)
    out = torch.from_numpy(np.stack([r[:length] for r in rows]))
    return out.reshape(*waveform.shape[:-1], length).to(waveform.dtype)


def match_rates(first: Any, rate_1: int, second: Any, rate_2: int) -> tuple[Any, Any, int]:
    """Both waveforms at the higher of the two rates."""
    if rate_1 == rate_2:
        return first, second, rate_1
    if rate_1 > rate_2:
        log.info("Resampling audio2 from %dHz to %dHz for merging.", rate_2, rate_1)
        return first, resample(second, rate_2, rate_1), rate_1
    log.info("Resampling audio1 from %dHz to %dHz for merging.", rate_1, rate_2)
    return resample(first, rate_1, rate_2), second, rate_2


@node(display_name="Empty Audio", category=CATEGORY)
def EmptyAudio(
    duration: Annotated[float, Float(min=0.0, max=HUGE, step=0.01,
                                     tooltip="Duration of the empty audio clip in seconds")] = 60.0,
    sample_rate: Annotated[int, Int(tooltip="Sample rate of the empty audio clip.")] = 44100,
    channels: Annotated[int, Int(min=1, max=2, tooltip=(
        "Number of audio channels (1 for mono, 2 for stereo)."))] = 2,
) -> Audio:
    """A silent clip of the given length, rate and channel count."""
    import torch

    if sample_rate <= 0:
        raise ValueError(f"EmptyAudio: input 'sample_rate' must be positive, got {sample_rate}")
    return {"waveform": torch.zeros((1, channels, int(round(duration * sample_rate))), dtype=torch.float32),
            "sample_rate": sample_rate}


@node(display_name="Trim Audio Duration", category=CATEGORY, description="Trim audio tensor into chosen time range.")
def TrimAudioDuration(
    audio: Audio,
    start_index: Annotated[float, Float(min=-HUGE, max=HUGE, step=0.01, tooltip=(
        "Start time in seconds, can be negative to count from the end (supports sub-seconds)."))] = 0.0,
    duration: Annotated[float, Float(min=0.0, step=0.01, tooltip="Duration in seconds")] = 60.0,
) -> Audio:
    """The part of the clip from ``start_index`` seconds (from the end when negative) lasting ``duration``."""
    waveform, rate = _audio(audio, "TrimAudioDuration", "audio")
    length = waveform.shape[-1]
    start = round(start_index * rate)
    start = length + start if start_index < 0 else start
    start = max(0, min(start, length - 1))
    end = max(0, min(start + round(duration * rate), length))
    if start >= end:
        raise ValueError("AudioTrim: Start time must be less than end time and be within the audio length.")
    return {"waveform": waveform[..., start:end], "sample_rate": rate}


@node(display_name="Split Audio Channels", category=CATEGORY,
      description="Separates the audio into left and right channels.")
def SplitAudioChannels(audio: Audio) -> tuple[Annotated[Any, Socket(type="AUDIO"), Output("left")],
                                              Annotated[Any, Socket(type="AUDIO"), Output("right")]]:
    """The left and right channels of a stereo clip as two mono clips."""
    waveform, rate = _audio(audio, "SplitAudioChannels", "audio")
    if waveform.shape[1] != 2:
        raise ValueError("AudioSplit: Input audio has only one channel.")
    return ({"waveform": waveform[..., 0:1, :], "sample_rate": rate},
            {"waveform": waveform[..., 1:2, :], "sample_rate": rate})


@node(display_name="Audio Concat", category=CATEGORY,
      description="Concatenates the audio1 to audio2 in the specified direction.")
def AudioConcat(audio1: Audio, audio2: Audio, direction: Annotated[str, Combo(
        options=("after", "before"), tooltip="Whether to append audio2 after or before audio1.")] = "after") -> Audio:
    """One clip after (or before) the other; mono clips become stereo, rates are matched."""
    import torch

    first, rate_1 = _audio(audio1, "AudioConcat", "audio1")
    second, rate_2 = _audio(audio2, "AudioConcat", "audio2")
    if first.shape[1] == 1:
        first = first.repeat(1, 2, 1)
    if second.shape[1] == 1:
        second = second.repeat(1, 2, 1)
    first, second, rate = match_rates(first, rate_1, second, rate_2)
    pair = (first, second) if direction == "after" else (second, first)
    return {"waveform": torch.cat(pair, dim=2), "sample_rate": rate}


@node(display_name="Audio Merge", category=CATEGORY,
      description="Combine two audio tracks by overlaying their waveforms.")
def AudioMerge(audio1: Audio, audio2: Audio, merge_method: Annotated[str, Combo(
        options=("add", "mean", "subtract", "multiply"),
        tooltip="The method used to combine the audio waveforms.")]) -> Audio:
    """The two clips overlaid sample by sample (audio2 trimmed or padded to audio1's length), scaled back
    into [-1, 1] when the result exceeds it."""
    import torch

    first, rate_1 = _audio(audio1, "AudioMerge", "audio1")
    second, rate_2 = _audio(audio2, "AudioMerge", "audio2")
    first, second, rate = match_rates(first, rate_1, second, rate_2)
    length = first.shape[-1]
    if second.shape[-1] > length:
        second = second[..., :length]
    elif second.shape[-1] < length:
        pad = torch.zeros((*second.shape[:-1], length - second.shape[-1]), dtype=second.dtype, device=second.device)
        second = torch.cat((second, pad), dim=-1)
    waveform = {"add": lambda: first + second, "subtract": lambda: first - second,
                "multiply": lambda: first * second, "mean": lambda: (first + second) / 2}[merge_method]()
    peak = waveform.abs().max()
    if peak > 1.0:
        waveform = waveform / peak
    return {"waveform": waveform, "sample_rate": rate}


@node(display_name="Audio Adjust Volume", category=CATEGORY)
def AudioAdjustVolume(audio: Audio, volume: Annotated[int, Int(min=-100, max=100, tooltip=(
        "Volume adjustment in decibels (dB). 0 = no change, +6 = double, -6 = half, etc"))] = 1) -> Audio:
    """The clip's amplitude scaled by 10^(dB/20)."""
    waveform, rate = _audio(audio, "AudioAdjustVolume", "audio")
    if volume == 0:
        return audio
    return {"waveform": waveform * (10 ** (volume / 20)), "sample_rate": rate}


NODES = [EmptyAudio, TrimAudioDuration, SplitAudioChannels, AudioConcat, AudioMerge, AudioAdjustVolume]
