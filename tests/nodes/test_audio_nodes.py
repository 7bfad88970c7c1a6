"""Audio nodes: LoadAudio (audio files and the soundtrack of videos), SaveAudio (FLAC), SaveAudioMP3,
SaveAudioOpus and PreviewAudio, checked by decoding what they wrote. FLAC keeps the samples to 16-bit
precision; MP3 and Opus keep the tone's pitch and level."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from inkgraph.engine.core.graph_builder import GraphBuilder
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes import audio
from tests.fixtures.media import TONE_HZ, dominant_hz, sine, write_video


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    rt = Runtime.create(Settings(base_dir=tmp_path, cache="none"))
    rt.folders.input.mkdir(parents=True, exist_ok=True)
    return rt


def write_wav(path: Path, wave: np.ndarray, rate: int) -> None:
    import av

    layout = "mono" if wave.shape[0] == 1 else "stereo"
    with av.open(str(path), mode="w", format="wav") as output:
        stream = output.add_stream("pcm_s16le", rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave), format="fltp", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        output.mux(stream.encode(frame))
        output.mux(stream.encode(None))


def decode(path: Path) -> tuple[np.ndarray, int, str, dict[str, str]]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.audio.resampler.AudioResampler(format="fltp")
        chunks = [out.to_ndarray() for frame in container.decode(stream) for out in resampler.resample(frame)]
        return (np.concatenate(chunks, axis=1), stream.codec_context.sample_rate, stream.codec.canonical_name,
                dict(container.metadata))


def test_load_audio_from_wav_and_from_a_video(runtime: Runtime) -> None:
    wave = sine(0.5, 22050, channels=2)
    write_wav(runtime.folders.input / "tone.wav", wave, 22050)
    write_video(runtime.folders.input / "clip.mp4")
    (runtime.folders.input / "notes.txt").write_text("x")
    assert audio.list_input_audio(runtime.folders) == ["clip.mp4", "tone.wav"]
    loaded = audio.load_audio(runtime.folders.input / "tone.wav")
    assert loaded["sample_rate"] == 22050 and loaded["waveform"].dtype == torch.float32
    assert loaded["waveform"].shape == (1, 2, 11025)
    assert np.abs(loaded["waveform"][0].numpy() - wave).max() < 1e-4  # 16-bit PCM
    soundtrack = audio.load_audio(runtime.folders.input / "clip.mp4")
    assert soundtrack["sample_rate"] == 16000 and soundtrack["waveform"].shape[:2] == (1, 1)
    assert abs(dominant_hz(soundtrack["waveform"][0, 0].numpy(), 16000) - TONE_HZ) < 10
    assert audio.LoadAudio.validate("tone.wav", runtime.folders) is True
    assert audio.LoadAudio.validate("none.wav", runtime.folders) == "Invalid audio file: none.wav"
    assert len(audio.LoadAudio.fingerprint("tone.wav", runtime.folders)) == 64


def run(runtime: Runtime, g: GraphBuilder, **extra: Any) -> dict[str, Any]:
    result, outcome = runtime.run(g.finalize(), extra_data=extra or None)
    assert result.ok, result.node_errors
    assert outcome is not None and outcome.status_str == "success", outcome.error if outcome else None
    return outcome.outputs


def test_save_nodes_write_what_they_report(runtime: Runtime) -> None:
    write_wav(runtime.folders.input / "tone.wav", sine(1.0, 44100, channels=2), 44100)
    g = GraphBuilder()
    loaded = g.node("LoadAudio", audio="tone.wav")
    flac = g.node("SaveAudio", audio=loaded.out(0), filename_prefix="audio/ComfyUI")
    mp3 = g.node("SaveAudioMP3", audio=loaded.out(0), filename_prefix="audio/ComfyUI", quality="V0")
    opus = g.node("SaveAudioOpus", audio=loaded.out(0), filename_prefix="audio/ComfyUI", quality="64k")
    preview = g.node("PreviewAudio", audio=loaded.out(0))
    outputs = run(runtime, g, extra_pnginfo={"workflow": {"nodes": []}})
    saved = {"subfolder": "audio", "type": "output"}
    assert outputs[flac.id] == {"audio": [{"filename": "ComfyUI_00001_.flac", **saved}]}
    assert outputs[mp3.id] == {"audio": [{"filename": "ComfyUI_00002_.mp3", **saved}]}
    assert outputs[opus.id] == {"audio": [{"filename": "ComfyUI_00003_.opus", **saved}]}
    (temp,) = outputs[preview.id]["audio"]
    assert temp["type"] == "temp" and temp["subfolder"] == "" and temp["filename"].startswith("ComfyUI_temp_")
    assert temp["filename"].endswith("_00001_.flac") and len(temp["filename"]) == len("ComfyUI_temp_abcde_00001_.flac")
    original = sine(1.0, 44100, channels=2)
    wave, rate, codec, tags = decode(runtime.folders.output / "audio" / "ComfyUI_00001_.flac")
    assert (rate, codec, wave.shape) == (44100, "flac", (2, 44100)) and np.abs(wave - original).max() < 1e-4
    assert '"class_type": "LoadAudio"' in tags["prompt"] and tags["workflow"] == '{"nodes": []}'
    for name, expected_rate, expected_codec in (("ComfyUI_00002_.mp3", 44100, "mp3"),
                                                ("ComfyUI_00003_.opus", 48000, "opus")):
        wave, rate, codec, _ = decode(runtime.folders.output / "audio" / name)
        assert (rate, codec, wave.shape[0]) == (expected_rate, expected_codec, 2)
        assert abs(dominant_hz(wave[0], rate) - TONE_HZ) < 10
        assert np.sqrt(np.mean(wave[0, rate // 10: rate // 2] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.15)
    assert (runtime.folders.temp / temp["filename"]).is_file()


def test_a_batch_saves_one_file_per_clip(runtime: Runtime) -> None:
    clips = {"waveform": torch.from_numpy(np.stack([sine(0.2, 8000), sine(0.2, 8000, amplitude=0.1)])),
             "sample_rate": 8000}
    ctx = type("Ctx", (), {"folders": runtime.folders})()
    out = audio.SaveAudio(ctx=ctx, audio=clips, filename_prefix="batch_%batch_num%")
    assert [item["filename"] for item in out.ui["audio"]] == ["batch_0_00001_.flac", "batch_1_00002_.flac"]
    quiet, rate, _, _ = decode(runtime.folders.output / "batch_1_00002_.flac")
    assert rate == 8000 and np.abs(quiet).max() == pytest.approx(0.1, abs=1e-3)
    odd_rate = {"waveform": torch.from_numpy(sine(0.2, 22050)).unsqueeze(0), "sample_rate": 22050}
    opus = audio.SaveAudioOpus(ctx=ctx, audio=odd_rate, filename_prefix="o", quality="96k")  # resampled to 24 kHz
    wave, rate, _, _ = decode(runtime.folders.output / opus.ui["audio"][0]["filename"])
    assert abs(dominant_hz(wave[0], rate) - TONE_HZ) < 10
