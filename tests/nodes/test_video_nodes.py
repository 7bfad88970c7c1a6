"""Video nodes: the VIDEO type (lazy file-backed, tensor-backed), LoadVideo → GetVideoComponents →
CreateVideo → SaveVideo round trips, Video Slice, SaveWEBM and the animated WEBP/PNG savers.

Codec tolerance: the test frames are flat colours; H.264 at its default quality (crf 23, yuv420p) brings
them back within 6/255 per channel (BT.709 conversion, 8-bit rounding), AV1 within 8/255. Lossless WEBP
and APNG come back exactly. AAC keeps the 440 Hz tone: its spectral peak within 10 Hz and its RMS within
15%."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from inkgraph.engine.core.graph_builder import GraphBuilder
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes import animated, media_av, video
from inkgraph.nodes.video_types import VideoComponents, VideoFromComponents, VideoFromFile
from tests.fixtures.media import TONE_HZ, decode_video, dominant_hz, frame_pixels, sine, write_video

H264_TOLERANCE = 6
AV1_TOLERANCE = 8


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return Runtime.create(Settings(base_dir=tmp_path, cache="none"))


@pytest.fixture
def clip(runtime: Runtime) -> list[np.ndarray]:
    """input/clip.mp4: 8 frames of 16×12 at 8 fps with one second of a 440 Hz tone at 16 kHz."""
    runtime.folders.input.mkdir(parents=True, exist_ok=True)
    return write_video(runtime.folders.input / "clip.mp4")


def run(runtime: Runtime, g: GraphBuilder, **extra: Any) -> dict[str, Any]:
    result, outcome = runtime.run(g.finalize(), extra_data=extra or None)
    assert result.ok, result.node_errors
    assert outcome is not None and outcome.status_str == "success", outcome.error if outcome else None
    return outcome.outputs


def save_video(g: GraphBuilder, source: Any, prefix: str = "video/ComfyUI", format: str = "auto",
               codec: str = "auto") -> Any:
    return g.node("SaveVideo", video=source, filename_prefix=prefix, format=format, codec=codec)


def assert_frames_close(decoded: list[np.ndarray], expected: list[np.ndarray], tolerance: int) -> None:
    assert len(decoded) == len(expected)
    for got, want in zip(decoded, expected, strict=True):
        assert got.shape == want.shape
        assert int(np.abs(got.astype(int) - want.astype(int)).max()) <= tolerance


def assert_tone(audio: tuple[np.ndarray, int, str], seconds: float) -> None:
    wave, rate, _ = audio
    mono = wave[0][: int(seconds * rate)]
    assert abs(len(wave[0]) / rate - seconds) < 0.1
    assert abs(dominant_hz(mono, rate) - TONE_HZ) < 10
    assert np.sqrt(np.mean(mono[rate // 10: -rate // 10] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.15)


def test_round_trip_keeps_frames_fps_and_audio(runtime: Runtime, clip: list[np.ndarray]) -> None:
    g = GraphBuilder()
    loaded = g.node("LoadVideo", file="clip.mp4")
    parts = g.node("GetVideoComponents", video=loaded.out(0))
    made = g.node("CreateVideo", images=parts.out(0), fps=parts.out(2), audio=parts.out(1))
    save = save_video(g, made.out(0), prefix="video/round")
    outputs = run(runtime, g, extra_pnginfo={"workflow": {"nodes": []}})
    assert outputs[save.id] == {"images": [{"filename": "round_00001_.mp4", "subfolder": "video",
                                            "type": "output"}], "animated": [True]}
    saved = decode_video(runtime.folders.output / "video" / "round_00001_.mp4")
    assert (saved["width"], saved["height"], saved["rate"], saved["codec"]) == (16, 12, 8, "h264")
    assert_frames_close(saved["frames"], clip, H264_TOLERANCE)
    assert saved["audio"] is not None and saved["audio"][1] == 16000
    assert_tone(saved["audio"], 1.0)
    assert '"class_type": "LoadVideo"' in saved["tags"]["prompt"] and saved["tags"]["workflow"] == '{"nodes": []}'


def test_components_of_a_file(runtime: Runtime, clip: list[np.ndarray]) -> None:
    video_in = VideoFromFile(runtime.folders.input / "clip.mp4")
    parts = video_in.get_components()
    assert parts.images.shape == (8, 12, 16, 3) and parts.images.dtype == torch.float32
    assert parts.frame_rate == 8 and isinstance(parts.frame_rate, Fraction)
    assert int((parts.images * 255 - torch.from_numpy(np.stack(clip)).float()).abs().max()) <= H264_TOLERANCE
    assert parts.audio is not None and parts.audio["sample_rate"] == 16000
    assert parts.audio["waveform"].shape[:2] == (1, 1) and parts.audio["waveform"].dtype == torch.float32
    assert (video_in.get_bit_depth(), video_in.get_color_space()) == (8, "sRGB")


def test_a_file_video_is_not_decoded_for_its_metadata(runtime: Runtime, clip: list[np.ndarray],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decoding(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("decoded a file-backed video")

    monkeypatch.setattr(media_av, "iter_frames", no_decoding)
    monkeypatch.setattr(media_av, "decode_audio", no_decoding)
    video_in = VideoFromFile(runtime.folders.input / "clip.mp4")
    assert video_in.get_dimensions() == (16, 12)
    assert video_in.get_frame_rate() == 8 and video_in.get_frame_count() == 8
    assert video_in.get_duration() == pytest.approx(1.0, abs=0.05)
    trimmed = video_in.as_trimmed(0.25, 0.5)
    assert trimmed is not None and trimmed.get_frame_count() == 4 and trimmed.get_duration() == 0.5
    # LoadVideo → Video Slice → SaveVideo (a copy of the streams) runs without decoding a frame either.
    g = GraphBuilder()
    loaded = g.node("LoadVideo", file="clip.mp4")
    save_video(g, loaded.out(0), prefix="copy")
    run(runtime, g)
    copied = runtime.folders.output / "copy_00001_.mp4"
    monkeypatch.undo()
    original = decode_video(runtime.folders.input / "clip.mp4")["frames"]
    assert all(np.array_equal(a, b) for a, b in zip(decode_video(copied)["frames"], original, strict=True))


def test_video_slice_on_a_file_cuts_frames_and_sound(runtime: Runtime, clip: list[np.ndarray]) -> None:
    g = GraphBuilder()
    loaded = g.node("LoadVideo", file="clip.mp4")
    middle = g.node("Video Slice", video=loaded.out(0), start_time=0.25, duration=0.5, strict_duration=True)
    tail = g.node("Video Slice", video=loaded.out(0), start_time=-0.25, duration=0.0, strict_duration=False)
    save_video(g, middle.out(0), prefix="middle")
    save_video(g, tail.out(0), prefix="tail")
    run(runtime, g)
    cut = decode_video(runtime.folders.output / "middle_00001_.mp4")
    assert_frames_close(cut["frames"], clip[2:6], H264_TOLERANCE)  # frames at 0.25, 0.375, 0.5, 0.625 s
    assert cut["rate"] == 8
    assert_tone(cut["audio"], 0.5)
    assert_frames_close(decode_video(runtime.folders.output / "tail_00001_.mp4")["frames"], clip[6:], H264_TOLERANCE)


def test_video_slice_strict_duration_and_errors(runtime: Runtime, clip: list[np.ndarray]) -> None:
    source = VideoFromFile(runtime.folders.input / "clip.mp4")
    assert source.as_trimmed(0.5, 2.0, strict_duration=True) is None
    lenient = source.as_trimmed(0.5, 2.0, strict_duration=False)
    assert lenient is not None and lenient.get_frame_count() == 4
    nested = source.as_trimmed(0.25, 0.5).as_trimmed(0.125, 0.0)  # type: ignore[union-attr]
    assert nested is not None and nested.get_duration() == pytest.approx(0.375)
    assert nested.get_components().images.shape[0] == 3
    with pytest.raises(ValueError, match="Failed to slice video"):
        video.VideoSlice(video=source, start_time=0.5, duration=2.0, strict_duration=True)


def test_video_slice_on_tensors() -> None:
    images = torch.arange(10, dtype=torch.float32).reshape(10, 1, 1, 1).expand(10, 2, 2, 3) / 10
    audio = {"waveform": torch.arange(1000, dtype=torch.float32).reshape(1, 1, 1000), "sample_rate": 1000}
    clip = VideoFromComponents(VideoComponents(images=images, frame_rate=Fraction(10), audio=audio))
    assert clip.get_duration() == 1.0 and clip.get_dimensions() == (2, 2)
    cut = video.VideoSlice(video=clip, start_time=0.2, duration=0.35, strict_duration=True)
    parts = cut.get_components()
    assert parts.images[:, 0, 0, 0].mul(10).round().tolist() == [2, 3, 4, 5]  # shown at 0.2 … 0.5 s
    assert parts.audio["waveform"][0, 0, [0, -1]].tolist() == [200, 549]
    assert video.VideoSlice(video=clip, start_time=-0.3, duration=0.0, strict_duration=False).get_frame_count() == 3
    with pytest.raises(ValueError):
        video.VideoSlice(video=clip, start_time=0.9, duration=0.5, strict_duration=True)


def test_create_video_formats_codecs_and_depth(runtime: Runtime) -> None:
    frames = [frame_pixels(i, 16, 12) for i in range(6)]
    images = torch.from_numpy(np.stack(frames)).float() / 255
    audio = {"waveform": torch.from_numpy(sine(0.5, 44100, channels=2)).unsqueeze(0), "sample_rate": 44100}
    out = runtime.folders.output
    out.mkdir(parents=True, exist_ok=True)
    clip = video.CreateVideo(images=images, fps=12.0, audio=audio)
    clip.save_to(out / "a.webm", format="auto", codec="av1")
    webm = decode_video(out / "a.webm")
    assert (webm["codec"], webm["rate"], webm["audio"][1], webm["audio"][2]) == ("av1", 12, 48000, "opus")
    assert_frames_close(webm["frames"], frames, AV1_TOLERANCE)
    assert_tone((webm["audio"][0][:1], 48000, "opus"), 0.5)
    clip.save_to(out / "a.mkv", format="mkv", codec="h264")
    assert decode_video(out / "a.mkv")["format"].startswith("matroska")
    with pytest.raises(ValueError, match="WebM output requires the AV1 codec"):
        clip.save_to(out / "b.webm", format="webm", codec="h264")
    deep = video.CreateVideo(images=images, fps=12.0, bit_depth="auto", color_space="HDR PQ")
    deep.save_to(out / "hdr.mp4")
    reread = VideoFromFile(out / "hdr.mp4")
    assert (reread.get_bit_depth(), reread.get_color_space()) == (10, "HDR PQ")
    components = video.GetVideoComponents(video=reread)
    assert components.result[3:] == (10, "HDR PQ") and components.result[0].shape == (6, 12, 16, 3)


def test_odd_sizes_are_refused_by_h264_with_a_message() -> None:
    clip = video.CreateVideo(images=torch.zeros(2, 5, 7, 3), fps=8.0)
    with pytest.raises(ValueError, match="even dimensions"):
        clip.save_to(media_av.io.BytesIO(), format="mp4")


def test_save_webm_ui_and_frames(runtime: Runtime) -> None:
    frames = [frame_pixels(i) for i in range(4)]
    g = GraphBuilder()
    empty = g.node("EmptyImage", width=16, height=12, batch_size=4, color=0x336699)
    save = g.node("SaveWEBM", images=empty.out(0), filename_prefix="web", codec="vp9", fps=8.0, crf=10.0)
    outputs = run(runtime, g)
    assert outputs[save.id] == {"images": [{"filename": "web_00001_.webm", "subfolder": "", "type": "output"}],
                                "animated": [True]}
    webm = decode_video(runtime.folders.output / "web_00001_.webm")
    assert (len(webm["frames"]), webm["codec"], webm["rate"]) == (4, "vp9", 8)
    assert np.abs(webm["frames"][0].astype(int) - np.array([0x33, 0x66, 0x99])).max() <= H264_TOLERANCE
    rgba = torch.cat([torch.from_numpy(np.stack(frames)).float() / 255, torch.full((4, 12, 16, 1), 0.5)], dim=-1)
    ctx = type("Ctx", (), {"folders": runtime.folders})()
    video.SaveWEBM(ctx=ctx, images=rgba, filename_prefix="alpha", codec="vp9", fps=8.0, crf=10.0)
    with media_av._open(runtime.folders.output / "alpha_00001_.webm") as container:
        assert container.streams.video[0].metadata.get("alpha_mode") == "1"


def _png_chunks(path: Path) -> list[tuple[bytes, bytes]]:
    data = path.read_bytes()[8:]
    chunks = []
    while data:
        (length,) = struct.unpack(">I", data[:4])
        chunks.append((data[4:8], data[8:8 + length]))
        data = data[12 + length:]
    return chunks


def test_animated_webp_and_png_decode_back(runtime: Runtime) -> None:
    frames = np.stack([frame_pixels(i) for i in range(3)])
    frames[:, 3:6, 4:9] = 255  # an edge, so lossless really means every pixel
    images = torch.from_numpy(frames).float() / 255
    ctx = type("Ctx", (), {"folders": runtime.folders})()
    prompt, workflow = {"1": {"class_type": "X", "inputs": {}}}, {"nodes": [1]}
    webp = animated.SaveAnimatedWEBP(ctx=ctx, images=images, filename_prefix="anim", fps=4.0, lossless=True,
                                     quality=80, method="default", prompt=prompt, extra_pnginfo={"workflow": workflow})
    apng = animated.SaveAnimatedPNG(ctx=ctx, images=images, filename_prefix="anim", fps=4.0, compress_level=4,
                                    prompt=prompt, extra_pnginfo={"workflow": workflow})
    assert webp.ui == {"images": [{"filename": "anim_00001_.webp", "subfolder": "", "type": "output"}],
                       "animated": [True]}
    assert apng.ui == {"images": [{"filename": "anim_00002_.png", "subfolder": "", "type": "output"}],
                       "animated": [True]}
    for name in ("anim_00001_.webp", "anim_00002_.png"):
        with PILImage.open(runtime.folders.output / name) as picture:
            assert picture.n_frames == 3
            for index in range(3):
                picture.seek(index)
                assert np.array_equal(np.asarray(picture.convert("RGB")), frames[index]), (name, index)
                assert picture.info.get("duration") == 250  # int(1000 / fps) ms a frame
    with PILImage.open(runtime.folders.output / "anim_00001_.webp") as picture:
        exif = picture.getexif()
    assert exif[0x0110] == 'prompt:{"1": {"class_type": "X", "inputs": {}}}'
    assert exif[0x010F] == 'workflow:{"nodes": [1]}'
    comf = [data for kind, data in _png_chunks(runtime.folders.output / "anim_00002_.png") if kind == b"comf"]
    assert comf == [b'prompt\0{"1": {"class_type": "X", "inputs": {}}}', b'workflow\0{"nodes": [1]}']
    single = animated.SaveAnimatedPNG(ctx=ctx, images=images[:1], filename_prefix="one", fps=4.0, compress_level=4)
    assert "animated" not in single.ui  # ComfyUI's SavedImages flags only more than one frame


def test_load_video_lists_validates_and_fingerprints(runtime: Runtime, clip: list[np.ndarray]) -> None:
    (runtime.folders.input / "notes.txt").write_text("x")
    (runtime.folders.input / "still.png").write_bytes(b"")
    assert video.list_input_videos(runtime.folders) == ["clip.mp4"]
    assert video.LoadVideo.validate("clip.mp4", runtime.folders) is True
    assert video.LoadVideo.validate("gone.mp4", runtime.folders) == "Invalid video file: gone.mp4"
    assert video.LoadVideo.validate("../../etc/passwd", runtime.folders) == "Invalid video file: ../../etc/passwd"
    before = video.LoadVideo.fingerprint("clip.mp4", runtime.folders)
    write_video(runtime.folders.input / "clip.mp4", frames=4)
    assert video.LoadVideo.fingerprint("clip.mp4", runtime.folders) != before


def test_cli_run_prints_the_video_and_audio_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from inkgraph.engine.cli import main

    base = tmp_path / "base"
    (base / "input").mkdir(parents=True)
    write_video(base / "input" / "clip.mp4", frames=4)
    workflow = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 16, "height": 12, "batch_size": 4, "color": 255}},
        "2": {"class_type": "CreateVideo", "inputs": {"images": ["1", 0], "fps": 8.0}},
        "3": {"class_type": "SaveVideo", "inputs": {"video": ["2", 0], "filename_prefix": "video/cli",
                                                    "format": "auto", "codec": "auto"}},
        "4": {"class_type": "LoadVideo", "inputs": {"file": "clip.mp4"}},
        "5": {"class_type": "GetVideoComponents", "inputs": {"video": ["4", 0]}},
        "6": {"class_type": "SaveAudio", "inputs": {"audio": ["5", 1], "filename_prefix": "audio/cli"}},
    }
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(workflow))
    assert main(["run", str(path), "--base-dir", str(base), "--no-progress"]) == 0
    printed = sorted(capsys.readouterr().out.strip().splitlines())
    assert printed == [str(base / "output" / "audio" / "cli_00001_.flac"),
                       str(base / "output" / "video" / "cli_00001_.mp4")]


@pytest.mark.parametrize("container", ["webm", "matroska"])
def test_other_containers_count_trim_and_copy(runtime: Runtime, container: str) -> None:
    """WebM does not count frames in its headers (the packets are counted, not decoded); Matroska leaves
    the first frames' dts unset, which a stream copy must keep."""
    source = runtime.folders.input / f"clip.{'webm' if container == 'webm' else 'mkv'}"
    frames = write_video(source, container=container)
    clip = VideoFromFile(source)
    assert clip.get_frame_count() == 8 and clip.as_trimmed(0.25, 0.5).get_frame_count() == 4  # type: ignore[union-attr]
    target = runtime.folders.output / "copy.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    clip.save_to(target)  # auto/auto: the streams are copied into MP4 as they are
    copied = decode_video(target)
    assert copied["codec"] == ("vp9" if container == "webm" else "h264")
    assert_frames_close(copied["frames"], frames, H264_TOLERANCE)


def test_load_video_widgets_convert_as_the_frontend_writes_them(runtime: Runtime) -> None:
    """ComfyUI's frontend stores LoadVideo's upload button value after the file name, as for LoadImage."""
    from inkgraph.engine.core.formats import api_to_ui, ui_to_api

    prompt = {"1": {"class_type": "LoadVideo", "inputs": {"file": "clip.mp4"}},
              "2": {"class_type": "SaveVideo", "inputs": {"video": ["1", 0], "filename_prefix": "video/ComfyUI",
                                                          "format": "auto", "codec": "auto"}}}
    workflow = api_to_ui(prompt, runtime.registry.get)
    load = next(n for n in workflow["nodes"] if n["type"] == "LoadVideo")
    assert load["widgets_values"] == ["clip.mp4", "image"]
    back, _ = ui_to_api(workflow, runtime.registry.get)
    assert {k: v["inputs"] for k, v in back.items()} == {k: v["inputs"] for k, v in prompt.items()}
