"""ComfyUI's audio I/O nodes (comfy_extras/nodes_audio.py): LoadAudio, SaveAudio (FLAC), SaveAudioMP3,
SaveAudioOpus and PreviewAudio, over ComfyUI's AUDIO value ``{"waveform": float32 [batch, channels,
samples], "sample_rate": int}``. Saved clips are reported as ``{"audio": [{filename, subfolder, type}]}``,
which ComfyUI's frontend shows as a player."""

from __future__ import annotations

import random
from typing import Annotated, Any

from inkgraph.engine import Combo, Context, Hidden, NodeOutput, Socket, String, node
from inkgraph.engine.core.paths import Folders, FolderType, file_sha256

from . import media_av
from .media_io import input_path, list_input_media, output_files, tags, validate_input_file

CATEGORY = "audio"
AudioIn = Annotated[Any, Socket(type="AUDIO")]
Prefix = Annotated[str, String()]


def list_input_audio(folders: Folders) -> list[str]:
    """Audio files and videos (their soundtrack) directly in input/."""
    return list_input_media(folders, ["audio", "video"])


def load_audio(path: Any) -> dict[str, Any]:
    """The first decodable audio track of a file as an AUDIO value (float32, batch of one)."""
    import torch

    decoded = media_av.decode_audio(path)
    if decoded is None:
        raise ValueError(f"No audio stream found in the file {getattr(path, 'name', path)}.")
    waveform, rate = decoded
    return {"waveform": torch.from_numpy(waveform).unsqueeze(0), "sample_rate": rate}


@node(display_name="Load Audio", category=CATEGORY, outputs=["AUDIO"], description="")
class LoadAudio:
    """Loads the sound of an audio or video file in the input folder."""

    def execute(self, ctx: Context,
                audio: Annotated[str, Combo(options=list_input_audio, extra={"audio_upload": True})]) -> NodeOutput:
        return NodeOutput(result=(load_audio(input_path(ctx.folders, audio)),))

    @staticmethod
    def fingerprint(audio: str, folders: Folders) -> str:
        return file_sha256(input_path(folders, audio))

    @staticmethod
    def validate(audio: str, folders: Folders) -> bool | str:
        return validate_input_file(folders, audio, "audio")


def save_audio(ctx: Context, audio: dict[str, Any], folder: FolderType, filename_prefix: str, format: str,
               quality: str, prompt: Any, extra_pnginfo: Any) -> dict[str, list[Any]]:
    """One file per clip of the batch, ``<prefix>_00001_.<format>`` …, tagged with prompt and workflow."""
    import torch

    waveforms = audio["waveform"].detach().to("cpu", torch.float32)
    files = output_files(ctx.folders, folder, filename_prefix, format, count=int(waveforms.shape[0]))
    metadata = tags(prompt, extra_pnginfo)
    for waveform, (path, _) in zip(waveforms, files, strict=True):
        media_av.write_audio(path, waveform.numpy(), int(audio["sample_rate"]), format=format, quality=quality,
                             metadata=metadata)
    return {"audio": [result for _, result in files]}


@node(display_name="Save Audio (FLAC)", category=CATEGORY, output_node=True, outputs=[])
def SaveAudio(ctx: Context, audio: AudioIn, filename_prefix: Prefix = "audio/ComfyUI",
              prompt: Annotated[Any, Hidden("PROMPT")] = None,
              extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None) -> NodeOutput:
    return NodeOutput(ui=save_audio(ctx, audio, "output", filename_prefix, "flac", "128k", prompt, extra_pnginfo))


@node(display_name="Save Audio (MP3)", category=CATEGORY, output_node=True, outputs=[])
def SaveAudioMP3(ctx: Context, audio: AudioIn, filename_prefix: Prefix = "audio/ComfyUI",
                 quality: Annotated[str, Combo(options=("V0", "128k", "320k"))] = "V0",
                 prompt: Annotated[Any, Hidden("PROMPT")] = None,
                 extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None) -> NodeOutput:
    return NodeOutput(ui=save_audio(ctx, audio, "output", filename_prefix, "mp3", quality, prompt, extra_pnginfo))


@node(display_name="Save Audio (Opus)", category=CATEGORY, output_node=True, outputs=[])
def SaveAudioOpus(ctx: Context, audio: AudioIn, filename_prefix: Prefix = "audio/ComfyUI",
                  quality: Annotated[str, Combo(options=("64k", "96k", "128k", "192k", "320k"))] = "128k",
                  prompt: Annotated[Any, Hidden("PROMPT")] = None,
                  extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None) -> NodeOutput:
    return NodeOutput(ui=save_audio(ctx, audio, "output", filename_prefix, "opus", quality, prompt, extra_pnginfo))


_TEMP_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


@node(display_name="Preview Audio", category=CATEGORY, output_node=True, outputs=[], description="")
def PreviewAudio(ctx: Context, audio: AudioIn, prompt: Annotated[Any, Hidden("PROMPT")] = None,
                 extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None) -> NodeOutput:
    """Writes the clip as FLAC to the temp folder for the frontend's player."""
    prefix = "ComfyUI_temp_" + "".join(random.choice(_TEMP_ALPHABET) for _ in range(5))  # noqa: S311
    return NodeOutput(ui=save_audio(ctx, audio, "temp", prefix, "flac", "128k", prompt, extra_pnginfo))


NODES = [SaveAudio, SaveAudioMP3, SaveAudioOpus, PreviewAudio, LoadAudio]
