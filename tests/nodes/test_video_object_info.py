"""/object_info of the video, audio and animation nodes against ComfyUI's declarations, written down by hand
from comfy_extras/nodes_video.py, nodes_audio.py and nodes_images.py: the 0.8.0-era nodes plus what later
ComfyUI added on top without breaking them (SaveVideo's VIDEO output and its mkv/webm/av1 choices,
CreateVideo's bit_depth and color_space, GetVideoComponents' bit_depth and color_space outputs, SaveWEBM's
IMAGE pass-through, Video Slice) — the official templates link those outputs."""

from __future__ import annotations

from typing import Any

import pytest

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info

PREFIX_TOOLTIP = ("The prefix for the file to save. This may include formatting information such as "
                  "%date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes.")
HIDDEN = {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}

# class_type: (category, display name, required inputs, optional inputs, outputs [(type, name)], output node)
REFERENCE: dict[str, tuple[str, str, dict[str, Any], dict[str, Any], list[tuple[str, str]], bool]] = {
    "LoadVideo": ("image/video", "Load Video", {"file": [[], {"video_upload": True}]}, {}, [("VIDEO", "VIDEO")],
                  False),
    "SaveVideo": ("image/video", "Save Video", {
        "video": ["VIDEO", {"tooltip": "The video to save."}],
        "filename_prefix": ["STRING", {"default": "video/ComfyUI", "tooltip": PREFIX_TOOLTIP}],
        "format": [["auto", "mp4", "mkv", "webm"], {"default": "auto"}],
        "codec": [["auto", "h264", "av1"], {"default": "auto"}],
    }, {}, [("VIDEO", "video")], True),
    "CreateVideo": ("image/video", "Create Video", {
        "images": ["IMAGE", {"tooltip": "The images to create a video from."}],
        "fps": ["FLOAT", {"default": 30.0, "min": 1.0, "max": 120.0, "step": 1.0}],
    }, {
        "audio": ["AUDIO", {"tooltip": "The audio to add to the video."}],
        "bit_depth": [["auto", 8, 10], {"default": "auto"}],
        "color_space": [["sRGB", "HDR", "HDR PQ"], {"default": "sRGB"}],
    }, [("VIDEO", "VIDEO")], False),
    "GetVideoComponents": ("image/video", "Get Video Components", {
        "video": ["VIDEO", {"tooltip": "The video to extract components from."}],
    }, {}, [("IMAGE", "images"), ("AUDIO", "audio"), ("FLOAT", "fps"), ("COMBO", "bit_depth"),
            ("COMBO", "color_space")], False),
    "Video Slice": ("image/video", "Video Slice", {
        "video": ["VIDEO"],
        "start_time": ["FLOAT", {"default": 0.0, "min": -1e5, "max": 1e5, "step": 0.001,
                                 "tooltip": "Start time in seconds"}],
        "duration": ["FLOAT", {"default": 0.0, "min": 0.0, "step": 0.001,
                               "tooltip": "Duration in seconds, or 0 for unlimited duration"}],
        "strict_duration": ["BOOLEAN", {"default": False, "tooltip": (
            "If True, when the specified duration is not possible, an error will be raised.")}],
    }, {}, [("VIDEO", "VIDEO")], False),
    "SaveWEBM": ("image/video", "SaveWEBM", {
        "images": ["IMAGE", {"tooltip": (
            "RGBA images are saved with their alpha channel as transparency (vp9 codec only).")}],
        "filename_prefix": ["STRING", {"default": "ComfyUI"}],
        "codec": [["vp9", "av1"]],
        "fps": ["FLOAT", {"default": 24.0, "min": 0.01, "max": 1000.0, "step": 0.01}],
        "crf": ["FLOAT", {"default": 32.0, "min": 0, "max": 63.0, "step": 1, "tooltip": (
            "Higher crf means lower quality with a smaller file size, lower crf means higher quality higher "
            "filesize.")}],
    }, {}, [("IMAGE", "images")], True),
    "SaveAnimatedWEBP": ("image/animation", "SaveAnimatedWEBP", {
        "images": ["IMAGE"], "filename_prefix": ["STRING", {"default": "ComfyUI"}],
        "fps": ["FLOAT", {"default": 6.0, "min": 0.01, "max": 1000.0, "step": 0.01}],
        "lossless": ["BOOLEAN", {"default": True}], "quality": ["INT", {"default": 80, "min": 0, "max": 100}],
        "method": [["default", "fastest", "slowest"]],
    }, {}, [], True),
    "SaveAnimatedPNG": ("image/animation", "SaveAnimatedPNG", {
        "images": ["IMAGE"], "filename_prefix": ["STRING", {"default": "ComfyUI"}],
        "fps": ["FLOAT", {"default": 6.0, "min": 0.01, "max": 1000.0, "step": 0.01}],
        "compress_level": ["INT", {"default": 4, "min": 0, "max": 9}],
    }, {}, [], True),
    "LoadAudio": ("audio", "Load Audio", {"audio": [[], {"audio_upload": True}]}, {}, [("AUDIO", "AUDIO")], False),
    "SaveAudio": ("audio", "Save Audio (FLAC)", {
        "audio": ["AUDIO"], "filename_prefix": ["STRING", {"default": "audio/ComfyUI"}]}, {}, [], True),
    "SaveAudioMP3": ("audio", "Save Audio (MP3)", {
        "audio": ["AUDIO"], "filename_prefix": ["STRING", {"default": "audio/ComfyUI"}],
        "quality": [["V0", "128k", "320k"], {"default": "V0"}]}, {}, [], True),
    "SaveAudioOpus": ("audio", "Save Audio (Opus)", {
        "audio": ["AUDIO"], "filename_prefix": ["STRING", {"default": "audio/ComfyUI"}],
        "quality": [["64k", "96k", "128k", "192k", "320k"], {"default": "128k"}]}, {}, [], True),
    "PreviewAudio": ("audio", "Preview Audio", {"audio": ["AUDIO"]}, {}, [], True),
}


def _without_tooltips_we_did_not_write_down(got: list[Any], want: list[Any]) -> list[Any]:
    """Compare options only on the keys written down (ComfyUI's combos carry tooltips we paraphrase)."""
    if len(got) == 2 and len(want) == 2:
        return [got[0], {k: v for k, v in got[1].items() if k in want[1]}]
    return got[: len(want)] if len(want) == 1 else got


@pytest.fixture(scope="module")
def infos() -> dict[str, dict[str, Any]]:
    return {spec_of(n).class_type: node_info(spec_of(n), None) for n in nodes.node_list()}


@pytest.mark.parametrize("class_type", list(REFERENCE))
def test_declaration_matches_comfyui(class_type: str, infos: dict[str, dict[str, Any]]) -> None:
    category, display, required, optional, outputs, output_node = REFERENCE[class_type]
    info = infos[class_type]
    assert (info["category"], info["display_name"], info["output_node"]) == (category, display, output_node)
    assert info["input_order"]["required"] == list(required)
    assert info["input_order"].get("optional", []) == list(optional)
    for section, expected in (("required", required), ("optional", optional)):
        for name, config in expected.items():
            got = info["input"][section][name]
            assert _without_tooltips_we_did_not_write_down(got, config) == config, (class_type, name)
    assert list(zip(info["output"], info["output_name"], strict=True)) == outputs
    if output_node and class_type.startswith(("Save", "Preview")):
        assert info["input"]["hidden"] == HIDDEN
