"""ComfyUI's video nodes (its comfy_extras/nodes_video.py): LoadVideo, SaveVideo, CreateVideo,
GetVideoComponents, Video Slice and SaveWEBM, over the VIDEO type of :mod:`.video_types`.

Save nodes report their file as ComfyUI's ``PreviewVideo`` does — ``{"images": [{filename, subfolder,
type}], "animated": [true]}`` — which is what ComfyUI's frontend turns into a player on the node.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any, Literal

from inkgraph.engine import (
    Boolean,
    Combo,
    Context,
    Float,
    Hidden,
    NodeOutput,
    Output,
    Socket,
    String,
    node,
)
from inkgraph.engine.core.paths import Folders

from . import media_av
from .media_io import Video, input_path, list_input_media, output_files, tags, validate_input_file
from .video_types import VideoComponents, VideoFromComponents, VideoFromFile, VideoInput

CATEGORY = "image/video"
PREFIX_TOOLTIP = ("The prefix for the file to save. This may include formatting information such as "
                  "%date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes.")
VideoOut = Annotated[VideoInput, Output(type="VIDEO")]


def list_input_videos(folders: Folders) -> list[str]:
    return list_input_media(folders, ["video"])


@node(display_name="Load Video", category=CATEGORY, description="")
class LoadVideo:
    """Loads a video from the input folder. Nothing is decoded here: nodes downstream read its frames,
    sound or headers when they need them."""

    def execute(self, ctx: Context,
                file: Annotated[str, Combo(options=list_input_videos, extra={"video_upload": True})]) -> VideoOut:
        return VideoFromFile(input_path(ctx.folders, file))

    @staticmethod
    def fingerprint(file: str, folders: Folders) -> Any:
        """Modification time and size, as ComfyUI (which uses the mtime): no hashing of large files."""
        stat = input_path(folders, file).stat()
        return (stat.st_mtime_ns, stat.st_size)

    @staticmethod
    def validate(file: str, folders: Folders) -> bool | str:
        return validate_input_file(folders, file, "video")


def preview_video(result: dict[str, str]) -> dict[str, list[Any]]:
    """ComfyUI's ``ui.PreviewVideo``: the saved file under ``images``, flagged animated."""
    return {"images": [result], "animated": [True]}


@node(display_name="Save Video", category=CATEGORY, output_node=True,
      description="Saves the input videos to your ComfyUI output directory.",
      outputs=[Output(type="VIDEO", name="video", tooltip="The input video, unchanged.")])
def SaveVideo(
    ctx: Context,
    video: Annotated[Any, Socket(type="VIDEO", tooltip="The video to save.")],
    filename_prefix: Annotated[str, String(tooltip=PREFIX_TOOLTIP)] = "video/ComfyUI",
    format: Annotated[str, Combo(options=media_av.CONTAINERS, tooltip=(
        "The output container. Auto uses MP4 for Auto/H.264 and WebM for AV1."))] = "auto",
    codec: Annotated[str, Combo(options=media_av.CODECS, tooltip=(
        "The codec to use for the video. Auto keeps the source's stream when it can (no re-encoding), "
        "else H.264 (AV1 in WebM)."))] = "auto",
    prompt: Annotated[Any, Hidden("PROMPT")] = None,
    extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None,
) -> NodeOutput:
    container, _ = media_av.resolve_output(format, codec)
    width, height = video.get_dimensions()
    [(path, result)] = output_files(ctx.folders, "output", filename_prefix, container, width=width, height=height)
    video.save_to(path, format=format, codec=codec, metadata=tags(prompt, extra_pnginfo))
    return NodeOutput(result=(video,), ui=preview_video(result))


@node(display_name="Create Video", category=CATEGORY, description="Create a video from images.")
def CreateVideo(
    images: Annotated[Any, Socket(type="IMAGE", tooltip="The images to create a video from.")],
    fps: Annotated[float, Float(min=1.0, max=120.0, step=1.0)] = 30.0,
    audio: Annotated[Any, Socket(type="AUDIO", optional=True, tooltip="The audio to add to the video.")] = None,
    bit_depth: Annotated[Any, Combo(options=("auto", 8, 10), optional=True, tooltip=(
        "Auto uses 8-bit for sRGB and 10-bit for HDR. Explicit 8-bit and 10-bit choices are independent of "
        "colorspace."))] = "auto",
    color_space: Annotated[str, Combo(options=media_av.COLOR_SPACES, optional=True, tooltip=(
        "Colorspace of the input images. HDR selects BT.2020/HLG and HDR PQ selects BT.2020/PQ."))] = "sRGB",
) -> VideoOut:
    depth = (10 if color_space != "sRGB" else 8) if bit_depth == "auto" else int(bit_depth)
    components = VideoComponents(images=images, frame_rate=Fraction(fps), audio=audio)
    return VideoFromComponents(components, bit_depth=depth, color_space=color_space)


@node(display_name="Get Video Components", category=CATEGORY,
      description="Extracts all components from a video: frames, audio, and framerate.",
      outputs=[Output(type="IMAGE", name="images"), Output(type="AUDIO", name="audio"),
               Output(type="FLOAT", name="fps"), Output(type="COMBO", name="bit_depth"),
               Output(type="COMBO", name="color_space")])
def GetVideoComponents(
    video: Annotated[Any, Socket(type="VIDEO", tooltip="The video to extract components from.")],
) -> NodeOutput:
    parts = video.get_components()
    return NodeOutput(result=(parts.images, parts.audio, float(parts.frame_rate), video.get_bit_depth(),
                              video.get_color_space()))


@node("Video Slice", display_name="Video Slice", category=CATEGORY, description="")
def VideoSlice(
    video: Video,
    start_time: Annotated[float, Float(min=-1e5, max=1e5, step=0.001, tooltip="Start time in seconds")] = 0.0,
    duration: Annotated[float, Float(min=0.0, step=0.001,
                                     tooltip="Duration in seconds, or 0 for unlimited duration")] = 0.0,
    strict_duration: Annotated[bool, Boolean(tooltip=(
        "If True, when the specified duration is not possible, an error will be raised."))] = False,
) -> VideoOut:
    """Cuts a video to ``duration`` seconds from ``start_time`` (negative: from the end). Frames shown at
    times in ``[start, start + duration)`` are kept; a file-backed video stays undecoded."""
    trimmed = video.as_trimmed(start_time, duration, strict_duration=strict_duration)
    if trimmed is None:
        raise ValueError(f"Failed to slice video:\nSource duration: {video.get_duration()}\n"
                         f"Start time: {start_time}\nTarget duration: {duration}")
    return trimmed


@node(category=CATEGORY, output_node=True, experimental=True, outputs=[Output(type="IMAGE", name="images")])
def SaveWEBM(
    ctx: Context,
    images: Annotated[Any, Socket(type="IMAGE", tooltip=(
        "RGBA images are saved with their alpha channel as transparency (vp9 codec only)."))],
    *,
    filename_prefix: str = "ComfyUI",
    codec: Literal["vp9", "av1"],
    fps: Annotated[float, Float(min=0.01, max=1000.0, step=0.01)] = 24.0,
    crf: Annotated[float, Float(min=0, max=63.0, step=1, tooltip=(
        "Higher crf means lower quality with a smaller file size, lower crf means higher quality higher "
        "filesize."))] = 32.0,
    prompt: Annotated[Any, Hidden("PROMPT")] = None,
    extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None,
) -> NodeOutput:
    import torch

    height, width = int(images.shape[1]), int(images.shape[2])
    [(path, result)] = output_files(ctx.folders, "output", filename_prefix, "webm", width=width, height=height)
    alpha = images.shape[-1] == 4 and codec == "vp9"
    channels = 4 if alpha else 3
    frames = ((image[..., :channels].detach().float().cpu() * 255).round().clamp(0, 255).to(torch.uint8).numpy()
              for image in images)
    media_av.write_webm(path, frames, width=width, height=height, fps=fps, codec=codec, crf=crf,
                        metadata=tags(prompt, extra_pnginfo), alpha=alpha)
    return NodeOutput(result=(images,), ui=preview_video(result))


NODES = [SaveWEBM, SaveVideo, CreateVideo, GetVideoComponents, LoadVideo, VideoSlice]
