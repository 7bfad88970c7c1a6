"""Audio editing nodes against hand-computed waveforms: trimming by seconds (negative from the end),
channel splits, concatenation with mono→stereo and rate matching, merges (trim/pad, peak normalising),
decibel gain, silence; and their object_info against ComfyUI's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.registry import as_spec
from inkgraph.nodes import audio_ops as ao
from tests.fixtures.media import TONE_HZ, dominant_hz, sine


def clip(seconds: float, rate: int = 100, channels: int = 2, start: float = 0.0) -> dict[str, Any]:
    """A ramp so each sample is identifiable: value = start + index / 1000."""
    n = round(seconds * rate)
    ramp = start + torch.arange(n, dtype=torch.float32) / 1000
    return {"waveform": ramp.repeat(1, channels, 1), "sample_rate": rate}


def test_empty_audio_is_silence_of_the_asked_shape() -> None:
    out = ao.EmptyAudio(duration=1.5, sample_rate=8000, channels=1)
    assert out["sample_rate"] == 8000 and out["waveform"].shape == (1, 1, 12000)
    assert not out["waveform"].any() and out["waveform"].dtype == torch.float32
    with pytest.raises(ValueError, match="EmptyAudio: input 'sample_rate'"):
        ao.EmptyAudio(duration=1.0, sample_rate=0, channels=2)


def test_trim_by_seconds_from_the_start_and_from_the_end() -> None:
    audio = clip(2.0)  # 200 samples at 100 Hz
    out = ao.TrimAudioDuration(audio, start_index=0.5, duration=0.25)["waveform"]
    assert torch.equal(out, audio["waveform"][..., 50:75])
    tail = ao.TrimAudioDuration(audio, start_index=-0.3, duration=60.0)["waveform"]
    assert torch.equal(tail, audio["waveform"][..., 170:200])
    with pytest.raises(ValueError, match="AudioTrim: Start time must be less than end time"):
        ao.TrimAudioDuration(audio, start_index=0.5, duration=0.0)
    with pytest.raises(ValueError, match="TrimAudioDuration: input 'audio' is not an AUDIO value"):
        ao.TrimAudioDuration({"waveform": torch.zeros(3)}, start_index=0.0, duration=1.0)


def test_split_channels_and_mono_refused() -> None:
    stereo = {"waveform": torch.stack([torch.ones(1, 5), -torch.ones(1, 5)], dim=1), "sample_rate": 10}
    left, right = ao.SplitAudioChannels(stereo)
    assert left["waveform"].shape == (1, 1, 5) and torch.equal(left["waveform"], torch.ones(1, 1, 5))
    assert torch.equal(right["waveform"], -torch.ones(1, 1, 5)) and right["sample_rate"] == 10
    with pytest.raises(ValueError, match="only one channel"):
        ao.SplitAudioChannels(clip(1.0, channels=1))


def test_concat_after_before_and_mono_to_stereo() -> None:
    a, b = clip(0.3, channels=1), clip(0.2, channels=2, start=5.0)
    after = ao.AudioConcat(a, b, direction="after")["waveform"]
    assert after.shape == (1, 2, 50)
    assert torch.equal(after[:, 0, :30], a["waveform"][:, 0]) and torch.equal(after[:, 1, :30], a["waveform"][:, 0])
    assert torch.equal(after[..., 30:], b["waveform"])
    before = ao.AudioConcat(a, b, direction="before")["waveform"]
    assert torch.equal(before[..., :20], b["waveform"])


def test_clips_at_different_rates_meet_at_the_higher_rate() -> None:
    low = {"waveform": torch.from_numpy(sine(0.5, rate=8000, channels=2)).unsqueeze(0), "sample_rate": 8000}
    high = {"waveform": torch.from_numpy(sine(0.25, rate=16000, channels=2)).unsqueeze(0), "sample_rate": 16000}
    out = ao.AudioConcat(low, high, direction="after")
    assert out["sample_rate"] == 16000
    assert abs(out["waveform"].shape[-1] - (8000 + 4000)) <= 64  # 0.5 s + 0.25 s at 16 kHz (resampler delay)
    first = out["waveform"][0, 0, 1000:7000].numpy()
    assert dominant_hz(first, 16000) == pytest.approx(TONE_HZ, abs=5)  # the tone kept its pitch
    assert float(np.abs(first).max()) == pytest.approx(0.5, abs=0.03)  # and its level


def test_merge_methods_trim_pad_and_normalise() -> None:
    one = {"waveform": torch.full((1, 2, 10), 0.4), "sample_rate": 10}
    short = {"waveform": torch.full((1, 2, 6), 0.3), "sample_rate": 10}
    added = ao.AudioMerge(one, short, merge_method="add")["waveform"]
    assert added.shape == (1, 2, 10)
    assert torch.allclose(added[..., :6], torch.full((1, 2, 6), 0.7)) and torch.allclose(added[..., 6:],
                                                                                          torch.full((1, 2, 4), 0.4))
    assert torch.allclose(ao.AudioMerge(one, short, merge_method="mean")["waveform"][..., 0], torch.tensor(0.35))
    assert torch.allclose(ao.AudioMerge(one, short, merge_method="subtract")["waveform"][..., 0], torch.tensor(0.1))
    assert torch.allclose(ao.AudioMerge(one, short, merge_method="multiply")["waveform"][..., 8], torch.tensor(0.0))
    loud = {"waveform": torch.full((1, 1, 4), 0.8), "sample_rate": 10}
    long = {"waveform": torch.tensor([[[0.8, 0.2, 0.0, 0.0, 0.9, 0.9]]]), "sample_rate": 10}
    merged = ao.AudioMerge(loud, long, merge_method="add")["waveform"]  # audio2 trimmed to 4 samples
    assert torch.allclose(merged, torch.tensor([[[1.0, 0.625, 0.5, 0.5]]]))  # peak 1.6 scaled to 1


def test_volume_in_decibels() -> None:
    audio = clip(0.1)
    assert ao.AudioAdjustVolume(audio, volume=0) is audio
    louder = ao.AudioAdjustVolume(audio, volume=6)["waveform"]
    assert torch.allclose(louder, audio["waveform"] * 10 ** (6 / 20))
    assert torch.allclose(ao.AudioAdjustVolume(audio, volume=-20)["waveform"], audio["waveform"] * 0.1)


def test_object_info_matches_comfyuis() -> None:
    def info(item: Any) -> dict[str, Any]:
        return node_info(as_spec(item), None)

    trim = info(ao.TrimAudioDuration)
    assert trim["display_name"] == "Trim Audio Duration" and trim["category"] == "audio"
    assert list(trim["input"]["required"]) == ["audio", "start_index", "duration"]
    assert trim["input"]["required"]["duration"][1]["default"] == 60.0
    split = info(ao.SplitAudioChannels)
    assert split["output"] == ["AUDIO", "AUDIO"] and split["output_name"] == ["left", "right"]
    concat = info(ao.AudioConcat)
    assert concat["input"]["required"]["direction"][0] == ["after", "before"]
    assert concat["input"]["required"]["direction"][1]["default"] == "after"
    merge = info(ao.AudioMerge)
    assert merge["input"]["required"]["merge_method"][0] == ["add", "mean", "subtract", "multiply"]
    volume = info(ao.AudioAdjustVolume)["input"]["required"]["volume"]
    assert volume[0] == "INT" and volume[1]["default"] == 1 and (volume[1]["min"], volume[1]["max"]) == (-100, 100)
    empty = info(ao.EmptyAudio)["input"]["required"]
    assert list(empty) == ["duration", "sample_rate", "channels"] and empty["sample_rate"][1]["default"] == 44100
