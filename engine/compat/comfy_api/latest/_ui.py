"""ComfyUI's ``comfy_api.latest.ui``: what a V3 node returns as ``NodeOutput(ui=…)`` to show results on
itself (saved or previewed images, masks, text …), and the helpers that save images the way ComfyUI's
own nodes do (numbered files, the prompt and workflow in the PNG's metadata)."""

from __future__ import annotations

import json
import os
import random
import string
from typing import Any

from ...stubs import stand_in
from ._io_base import FolderType
from ._io_node import _UIOutput


class SavedResult(dict[str, Any]):
    """One file a node wrote: ``{"filename", "subfolder", "type"}``."""

    def __init__(self, filename: str, subfolder: str, type: FolderType) -> None:
        super().__init__(filename=filename, subfolder=subfolder, type=FolderType(type).value)

    @property
    def filename(self) -> str:
        return str(self["filename"])

    @property
    def subfolder(self) -> str:
        return str(self["subfolder"])

    @property
    def type(self) -> FolderType:
        return FolderType(self["type"])


class SavedImages(_UIOutput):
    """Saved images (``animated`` for one animated file)."""

    def __init__(self, results: list[SavedResult], is_animated: bool = False) -> None:
        self.results, self.is_animated = results, is_animated

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"images": self.results}
        if self.is_animated:
            data["animated"] = (True,)
        return data


class SavedAudios(_UIOutput):
    def __init__(self, results: list[SavedResult]) -> None:
        self.results = results

    def as_dict(self) -> dict[str, Any]:
        return {"audio": self.results}


def _directory(folder_type: FolderType) -> str:
    from ... import folder_paths

    if folder_type == FolderType.input:
        return folder_paths.get_input_directory()
    if folder_type == FolderType.output:
        return folder_paths.get_output_directory()
    return folder_paths.get_temp_directory()


class ImageSaveHelper:
    """Saving IMAGE batches as ComfyUI's nodes do."""

    @staticmethod
    def _convert_tensor_to_pil(image_tensor: Any) -> Any:
        import numpy as np
        from PIL import Image

        return Image.fromarray(np.clip(255.0 * image_tensor.cpu().numpy(), 0, 255).astype(np.uint8))

    @staticmethod
    def _create_png_metadata(cls: Any) -> Any:
        """The prompt and the workflow as PNG text chunks (none with ``--disable-metadata`` or no hidden)."""
        from PIL.PngImagePlugin import PngInfo

        from ...comfy.cli_args import args

        hidden = getattr(cls, "hidden", None) if cls is not None else None
        if args.disable_metadata or hidden is None:
            return None
        metadata = PngInfo()
        if hidden.prompt:
            metadata.add_text("prompt", json.dumps(hidden.prompt))
        for key, value in (hidden.extra_pnginfo or {}).items():
            metadata.add_text(key, json.dumps(value))
        return metadata

    @staticmethod
    def save_images(images: Any, filename_prefix: str, folder_type: FolderType, cls: Any,
                    compress_level: int = 4) -> list[SavedResult]:
        """Each image of the batch as ``<prefix>_<counter:05>_.png`` in the folder of ``folder_type``."""
        from ... import folder_paths

        folder, name, counter, subfolder, _ = folder_paths.get_save_image_path(
            filename_prefix, _directory(folder_type), images[0].shape[1], images[0].shape[0])
        metadata = ImageSaveHelper._create_png_metadata(cls)
        results = []
        for batch_number, image in enumerate(images):
            file = f"{name.replace('%batch_num%', str(batch_number))}_{counter:05}_.png"
            ImageSaveHelper._convert_tensor_to_pil(image).save(os.path.join(folder, file), pnginfo=metadata,
                                                              compress_level=compress_level)
            results.append(SavedResult(file, subfolder, folder_type))
            counter += 1
        return results

    @staticmethod
    def get_save_images_ui(images: Any, filename_prefix: str, cls: Any, compress_level: int = 4) -> SavedImages:
        return SavedImages(ImageSaveHelper.save_images(images, filename_prefix, FolderType.output, cls,
                                                       compress_level))

    # Animated PNG/WebP saving is not in Inkgraph yet.
    save_animated_png = stand_in("comfy_api.latest.ui.ImageSaveHelper.save_animated_png")
    get_save_animated_png_ui = stand_in("comfy_api.latest.ui.ImageSaveHelper.get_save_animated_png_ui")
    save_animated_webp = stand_in("comfy_api.latest.ui.ImageSaveHelper.save_animated_webp")
    get_save_animated_webp_ui = stand_in("comfy_api.latest.ui.ImageSaveHelper.get_save_animated_webp_ui")


def _temp_prefix() -> str:
    return "ComfyUI_temp_" + "".join(random.choice(string.ascii_lowercase) for _ in range(5))


class PreviewImage(_UIOutput):
    """An IMAGE batch saved to the temp folder and shown on the node."""

    def __init__(self, image: Any, animated: bool = False, cls: Any = None, **kwargs: Any) -> None:
        self.values = ImageSaveHelper.save_images(image, _temp_prefix(), FolderType.temp, cls, compress_level=1)
        self.animated = animated

    def as_dict(self) -> dict[str, Any]:
        return {"images": self.values, "animated": (self.animated,)}


class PreviewMask(PreviewImage):
    """A MASK batch previewed as grey images."""

    def __init__(self, mask: Any, animated: bool = False, cls: Any = None, **kwargs: Any) -> None:
        preview = mask.reshape((-1, 1, mask.shape[-2], mask.shape[-1])).movedim(1, -1).expand(-1, -1, -1, 3)
        super().__init__(preview, animated, cls, **kwargs)


class PreviewText(_UIOutput):
    def __init__(self, value: str, **kwargs: Any) -> None:
        self.value = value

    def as_dict(self) -> dict[str, Any]:
        return {"text": (self.value,)}


class PreviewVideo(_UIOutput):
    def __init__(self, values: list[Any], **kwargs: Any) -> None:
        self.values = values

    def as_dict(self) -> dict[str, Any]:
        return {"images": self.values, "animated": (True,)}


class PreviewUI3D(_UIOutput):
    def __init__(self, model_file: Any, camera_info: Any, **kwargs: Any) -> None:
        self.model_file, self.camera_info = model_file, camera_info

    def as_dict(self) -> dict[str, Any]:
        return {"result": [self.model_file, self.camera_info]}


# Audio is saved through PyAV and torchaudio in ComfyUI; not available here yet.
AudioSaveHelper = stand_in("comfy_api.latest.ui.AudioSaveHelper")
PreviewAudio = stand_in("comfy_api.latest.ui.PreviewAudio")

__all__ = ["AudioSaveHelper", "ImageSaveHelper", "PreviewAudio", "PreviewImage", "PreviewMask", "PreviewText",
           "PreviewUI3D", "PreviewVideo", "SavedAudios", "SavedImages", "SavedResult"]
