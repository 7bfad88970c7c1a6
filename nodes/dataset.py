"""Datasets for training in the graph (ComfyUI's ``dataset`` nodes, ``comfy_extras/nodes_dataset.py``):
image and image-caption folders in ``input/``, transforms of image and text lists, and the encoded
training set (MakeTrainingDataset: every image through the VAE, every caption through the text encoder,
once; its output is cached like any node's).

Lists are the engine's lists (``is_list`` outputs): a node that takes one image runs once per item, a
"group" node (``input_is_list``) sees the whole list. Random transforms draw as ComfyUI does (numpy's legacy
generator seeded with ``seed % (2³² − 1)`` for each image or list), so a seed gives ComfyUI's crops and
orders. ImageGrid and ImageDeduplication live in :mod:`image_batch`; flipping is ImageFlip
(:mod:`image_transform`).

One deliberate difference: ComfyUI's text transforms return their string wrapped in a one-item list (and
MergeTextLists the whole list as one value), which no downstream node can read; here they return the
string, and MergeTextLists returns a list.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any

from inkgraph.engine import Combo, Context, Float, Int, NodeOutput, Output, Socket, String, node
from inkgraph.engine.core.paths import Folders, safe_join
from inkgraph.engine.core.safe_write import write_replacing

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
SEED_MAX = 0xFFFFFFFFFFFFFFFF
DATASET, IMAGES, TEXTS = "dataset", "dataset/image", "dataset/text"


def input_subfolders(folders: Folders) -> list[str]:
    """Every folder under ``input/`` (relative, ``/``-separated, sorted; hidden ones skipped), as ComfyUI's
    ``folder_paths.get_input_subfolders``."""
    root = folders.input
    if not root.is_dir():
        return []
    found = []
    for current, dirs, _ in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        relative = Path(current).relative_to(root)
        if str(relative) != ".":
            found.append(relative.as_posix())
    return sorted(found)


def _folder(ctx: Context, node_name: str, folder: str) -> Path:
    path = safe_join(ctx.folders.input, folder)
    if not path.is_dir():
        raise FileNotFoundError(f"{node_name}: input 'folder' {folder!r} is not a folder in {ctx.folders.input}")
    return path


def _load(node_name: str, paths: list[Path]) -> list[Any]:
    """Each file as a [1, H, W, 3] image (16-bit "I" images scaled to 8 bits, as ComfyUI)."""
    from PIL import Image as PILImage

    from .image_utils import from_pil

    if not paths:
        raise ValueError(f"{node_name}: no images ({', '.join(IMAGE_EXTENSIONS)}) in the folder")
    images = []
    for path in paths:
        try:
            with PILImage.open(path) as opened:
                image = opened.point(lambda i: i * (1 / 255)) if opened.mode == "I" else opened
                images.append(from_pil(image.convert("RGB")))
        except OSError as exc:
            raise ValueError(f"{node_name}: cannot read {path.name}: {exc}") from exc
    return images


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


ImageList = Annotated[Any, Output("images", type="IMAGE", is_list=True, tooltip="List of loaded images")]
Folder = Annotated[str, Combo(options=input_subfolders, tooltip="The folder to load images from.")]


@node(display_name="Load Image Dataset from Folder", category=DATASET, experimental=True)
def LoadImageDataSetFromFolder(
    ctx: Context,
    folder: Folder,
) -> ImageList:
    path = _folder(ctx, "LoadImageDataSetFromFolder", folder)
    return _load("LoadImageDataSetFromFolder", sorted(p for p in path.iterdir() if p.is_file() and _is_image(p.name)))


def image_caption_files(folder: Path) -> list[Path]:
    """The images of a dataset folder in name order; a subfolder named ``<N>_<name>`` (kohya's layout)
    contributes its images N times."""
    files: list[Path] = []
    for item in sorted(folder.iterdir()):
        if item.is_file() and _is_image(item.name):
            files.append(item)
        elif item.is_dir() and not item.name.startswith("."):
            head = item.name.split("_")[0]
            repeat = int(head) if head.isdigit() else 1
            files += sorted(p for p in item.iterdir() if p.is_file() and _is_image(p.name)) * repeat
    return files


@node(display_name="Load Image and Text Dataset from Folder", category=DATASET, experimental=True)
def LoadImageTextDataSetFromFolder(
    ctx: Context,
    folder: Folder,
) -> tuple[ImageList, Annotated[Any, Output("texts", type="STRING", is_list=True, tooltip="List of text captions")]]:
    path = _folder(ctx, "LoadImageTextDataSetFromFolder", folder)
    files = image_caption_files(path)
    captions = []
    for file in files:
        caption = file.with_suffix(".txt")
        captions.append(caption.read_text(encoding="utf-8").strip() if caption.is_file() else "")
    images = _load("LoadImageTextDataSetFromFolder", files)
    log.info("LoadImageTextDataSetFromFolder: %d images from %s", len(images), path)
    return images, captions


def _output_folder(ctx: Context, node_name: str, folder_name: str) -> Path:
    try:
        path = safe_join(ctx.folders.output, folder_name)
    except ValueError as exc:
        raise ValueError(f"{node_name}: input 'folder_name' {folder_name!r} leaves the output folder") from exc
    path.mkdir(parents=True, exist_ok=True)
    return path


def _save_images(images: list[Any], folder: Path, prefix: str) -> list[str]:
    """Every image of the list (every batch item) as ``<prefix>_<index>.png``, replacing older files."""
    import io

    from .image_utils import to_pil

    names = []
    frames = [batch[i] for batch in images for i in range(batch.shape[0])] if images and images[0].ndim == 4 \
        else list(images)
    for index, frame in enumerate(frames):
        buffer = io.BytesIO()
        to_pil(frame).save(buffer, format="PNG")
        name = f"{prefix}_{index:05d}.png"
        write_replacing(safe_join(folder, name), buffer.getvalue())
        names.append(name)
    return names


ImagesIn = Annotated[Any, Socket(type="IMAGE", tooltip="List of images to save.")]
FolderName = Annotated[str, String(tooltip="Name of the folder to save images to (inside output directory).")]
FilePrefix = Annotated[str, String(tooltip="Prefix for saved image filenames.")]


@node(display_name="Save Image Dataset to Folder", category=DATASET, experimental=True, output_node=True,
      outputs=[], input_is_list=True)
def SaveImageDataSetToFolder(ctx: Context, images: ImagesIn, folder_name: FolderName = "dataset",
                             filename_prefix: FilePrefix = "image") -> NodeOutput:
    folder = _output_folder(ctx, "SaveImageDataSetToFolder", _first(folder_name))
    saved = _save_images(list(images), folder, _first(filename_prefix))
    log.info("SaveImageDataSetToFolder: %d images to %s", len(saved), folder)
    return NodeOutput()


@node(display_name="Save Image and Text Dataset to Folder", category=DATASET, experimental=True, output_node=True,
      outputs=[], input_is_list=True)
def SaveImageTextDataSetToFolder(
    ctx: Context, images: ImagesIn,
    texts: Annotated[Any, String(tooltip="List of text captions to save.")],
    folder_name: FolderName = "dataset", filename_prefix: FilePrefix = "image",
) -> NodeOutput:
    folder = _output_folder(ctx, "SaveImageTextDataSetToFolder", _first(folder_name))
    saved = _save_images(list(images), folder, _first(filename_prefix))
    for name, caption in zip(saved, texts, strict=False):
        write_replacing(safe_join(folder, name.replace(".png", ".txt")), str(caption).encode("utf-8"))
    log.info("SaveImageTextDataSetToFolder: %d images and captions to %s", len(saved), folder)
    return NodeOutput()


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


# -- image transforms: one image (batch) at a time ---------------------------------------------------------

OneImage = Annotated[Any, Socket(type="IMAGE", tooltip="Image to process.")]
Processed = Annotated[Any, Output("images", type="IMAGE", tooltip="Processed images")]


def _per_frame(image: Any, fn: Any) -> Any:
    """``fn`` (PIL → PIL) on every image of a batch; the results batched again."""
    import torch

    from .image_utils import from_pil, to_pil

    return torch.cat([from_pil(fn(to_pil(image[i]))) for i in range(image.shape[0])])


def _resized(image: Any, width: int, height: int) -> Any:
    from PIL import Image as PILImage

    return image.resize((width, height), PILImage.Resampling.LANCZOS)


@node(display_name="Resize Images by Shorter Edge", category=IMAGES, experimental=True,
      description="Resize images so that the shorter edge matches the specified length while preserving aspect ratio.")
def ResizeImagesByShorterEdge(images: OneImage, shorter_edge: Annotated[int, Int(
        min=1, max=8192, tooltip="Target length for the shorter edge.")] = 512) -> Processed:
    def resize(picture: Any) -> Any:
        w, h = picture.size
        return _resized(picture, shorter_edge, int(h * (shorter_edge / w))) if w < h else \
            _resized(picture, int(w * (shorter_edge / h)), shorter_edge)

    return _per_frame(images, resize)


@node(display_name="Resize Images by Longer Edge", category=IMAGES, experimental=True,
      description="Resize images so that the longer edge matches the specified length while preserving aspect ratio.")
def ResizeImagesByLongerEdge(images: OneImage, longer_edge: Annotated[int, Int(
        min=1, max=8192, tooltip="Target length for the longer edge.")] = 1024) -> Processed:
    def resize(picture: Any) -> Any:
        w, h = picture.size
        return _resized(picture, longer_edge, int(h * (longer_edge / w))) if w > h else \
            _resized(picture, int(w * (longer_edge / h)), longer_edge)

    return _per_frame(images, resize)


CropWidth = Annotated[int, Int(min=1, max=8192, tooltip="Crop width.")]
CropHeight = Annotated[int, Int(min=1, max=8192, tooltip="Crop height.")]
Seed = Annotated[int, Int(min=0, max=SEED_MAX, tooltip="Random seed.")]


@node(display_name="Center Crop Images", category=IMAGES, experimental=True,
      description="Center crop all images to the specified dimensions.")
def CenterCropImages(images: OneImage, width: CropWidth = 512, height: CropHeight = 512) -> Processed:
    def crop(picture: Any) -> Any:
        left, top = max(0, (picture.width - width) // 2), max(0, (picture.height - height) // 2)
        return picture.crop((left, top, min(picture.width, left + width), min(picture.height, top + height)))

    return _per_frame(images, crop)


@node(display_name="Random Crop Images", category=IMAGES, experimental=True,
      description="Randomly crop all images to the specified dimensions (for data augmentation).")
def RandomCropImages(images: OneImage, width: CropWidth = 512, height: CropHeight = 512, seed: Seed = 0) -> Processed:
    import numpy as np

    def crop(picture: Any) -> Any:
        rng = np.random.RandomState(seed % (2 ** 32 - 1))  # ComfyUI reseeds for every image
        max_left, max_top = max(0, picture.width - width), max(0, picture.height - height)
        left = int(rng.randint(0, max_left + 1)) if max_left > 0 else 0
        top = int(rng.randint(0, max_top + 1)) if max_top > 0 else 0
        return picture.crop((left, top, min(picture.width, left + width), min(picture.height, top + height)))

    return _per_frame(images, crop)


@node(display_name="Normalize Images", category=IMAGES, experimental=True,
      description="Normalize images using mean and standard deviation.")
def NormalizeImages(
    images: OneImage,
    mean: Annotated[float, Float(min=0.0, max=1.0, tooltip="Mean value for normalization.")] = 0.5,
    std: Annotated[float, Float(min=0.001, max=1.0, tooltip="Standard deviation for normalization.")] = 0.5,
) -> Processed:
    return (images - mean) / std


@node(display_name="Adjust Brightness", category=IMAGES, experimental=True,
      description="Adjust brightness of all images.")
def AdjustBrightness(images: OneImage, factor: Annotated[float, Float(min=0.0, max=2.0, tooltip=(
        "Brightness factor. 1.0 = no change, <1.0 = darker, >1.0 = brighter."))] = 1.0) -> Processed:
    return (images * factor).clamp(0.0, 1.0)


@node(display_name="Adjust Contrast", category=IMAGES, experimental=True, description="Adjust contrast of all images.")
def AdjustContrast(images: OneImage, factor: Annotated[float, Float(min=0.0, max=2.0, tooltip=(
        "Contrast factor. 1.0 = no change, <1.0 = less contrast, >1.0 = more contrast."))] = 1.0) -> Processed:
    return ((images - 0.5) * factor + 0.5).clamp(0.0, 1.0)


# -- whole lists -----------------------------------------------------------------------------------------------

ImageListIn = Annotated[Any, Socket(type="IMAGE", tooltip="List of images to process.")]
ProcessedList = Annotated[Any, Output("images", type="IMAGE", is_list=True, tooltip="Processed images")]


def _permutation(count: int, seed: int) -> list[int]:
    import numpy as np

    return [int(i) for i in np.random.RandomState(seed % (2 ** 32 - 1)).permutation(count)]


@node(display_name="Shuffle Image Dataset", category=IMAGES, experimental=True, input_is_list=True,
      description="Randomly shuffle the order of images in the dataset.")
def ShuffleDataset(images: ImageListIn, seed: Seed = 0) -> ProcessedList:
    return [images[i] for i in _permutation(len(images), int(_first(seed)))]


@node(display_name="Shuffle Image-Text Dataset", category=IMAGES, experimental=True, input_is_list=True)
def ShuffleImageTextDataset(
    images: Annotated[Any, Socket(type="IMAGE", tooltip="List of images to shuffle.")],
    texts: Annotated[Any, String(tooltip="List of texts to shuffle.")],
    seed: Seed = 0,
) -> tuple[Annotated[Any, Output("images", type="IMAGE", is_list=True, tooltip="Shuffled images")],
           Annotated[Any, Output("texts", type="STRING", is_list=True, tooltip="Shuffled texts")]]:
    if len(texts) != len(images):
        raise ValueError(f"ShuffleImageTextDataset: {len(images)} images (input 'images') but {len(texts)} texts "
                         "(input 'texts')")
    order = _permutation(len(images), int(_first(seed)))
    return [images[i] for i in order], [texts[i] for i in order]


@node(display_name="Merge Image Lists", category=IMAGES, experimental=True, input_is_list=True,
      description="Concatenate multiple image lists into one.")
def MergeImageLists(images: ImageListIn) -> ProcessedList:
    log.info("MergeImageLists: %d images", len(images))
    return list(images)


# -- text transforms ------------------------------------------------------------------------------------------

OneText = Annotated[str, String(tooltip="Text to process.")]
ProcessedText = Annotated[str, Output("texts", type="STRING", tooltip="Processed texts")]


@node(display_name="Text to Lowercase", category=TEXTS, experimental=True,
      description="Convert all texts to lowercase.")
def TextToLowercase(texts: OneText) -> ProcessedText:
    return texts.lower()


@node(display_name="Text to Uppercase", category=TEXTS, experimental=True,
      description="Convert all texts to uppercase.")
def TextToUppercase(texts: OneText) -> ProcessedText:
    return texts.upper()


@node(display_name="Truncate Text", category=TEXTS, experimental=True,
      description="Truncate all texts to a maximum length.")
def TruncateText(texts: OneText, max_length: Annotated[int, Int(min=1, max=10000, tooltip="Maximum text length.")] = 77
                 ) -> ProcessedText:
    return texts[:max_length]


@node(display_name="Add Text Prefix", category=TEXTS, experimental=True, description="Add a prefix to all texts.")
def AddTextPrefix(texts: OneText, prefix: Annotated[str, String(tooltip="Prefix to add.")] = "") -> ProcessedText:
    return prefix + texts


@node(display_name="Add Text Suffix", category=TEXTS, experimental=True, description="Add a suffix to all texts.")
def AddTextSuffix(texts: OneText, suffix: Annotated[str, String(tooltip="Suffix to add.")] = "") -> ProcessedText:
    return texts + suffix


@node(display_name="Replace Text", category=TEXTS, experimental=True, description="Replace text in all texts.")
def ReplaceText(texts: OneText, find: Annotated[str, String(tooltip="Text to find.")] = "",
                replace: Annotated[str, String(tooltip="Text to replace with.")] = "") -> ProcessedText:
    return texts.replace(find, replace)


@node(display_name="Strip Whitespace", category=TEXTS, experimental=True,
      description="Strip leading and trailing whitespace from all texts.")
def StripWhitespace(texts: OneText) -> ProcessedText:
    return texts.strip()


@node(display_name="Merge Text Lists", category=TEXTS, experimental=True, input_is_list=True,
      description="Concatenate multiple text lists into one.")
def MergeTextLists(texts: Annotated[Any, String(tooltip="List of texts to process.")]
                   ) -> Annotated[Any, Output("texts", type="STRING", is_list=True, tooltip="Processed texts")]:
    log.info("MergeTextLists: %d texts", len(texts))
    return list(texts)


# -- the encoded training set ------------------------------------------------------------------------------------

LatentList = Annotated[Any, Output("latents", type="LATENT", is_list=True, tooltip="List of latent dicts")]
ConditioningList = Annotated[Any, Output("conditioning", type="CONDITIONING", is_list=True,
                                         tooltip="List of conditioning lists")]


@node(display_name="Make Training Dataset", category=DATASET, experimental=True, input_is_list=True)
def MakeTrainingDataset(
    ctx: Context,
    images: Annotated[Any, Socket(type="IMAGE", tooltip="List of images to encode.")],
    vae: Annotated[Any, Socket(type="VAE", tooltip="VAE model for encoding images to latents.")],
    clip: Annotated[Any, Socket(type="CLIP", tooltip="CLIP model for encoding text to conditioning.")],
    texts: Annotated[Any, String(optional=True, tooltip=(
        "List of text captions. Can be length n (matching images), 1 (repeated for all), or omitted (uses empty "
        "string)."))] = None,
) -> tuple[LatentList, ConditioningList]:
    """Every image through the VAE and every caption through the text encoder, once (the result is cached)."""
    from .conditioning import CLIPTextEncode
    from .vae import VAEEncode

    vae, clip = _first(vae), _first(clip)
    captions = list(texts) if texts else [""]
    if len(captions) == 1 and len(images) > 1:
        captions = captions * len(images)
    if len(captions) != len(images):
        raise ValueError(f"MakeTrainingDataset: {len(captions)} texts (input 'texts') for {len(images)} images "
                         f"(input 'images'); give {len(images)}, 1, or none")
    latents = []
    for index, image in enumerate(images):
        latents.append(VAEEncode(ctx, pixels=image[:, :, :, :3], vae=vae))
        ctx.progress(index + 1, 2 * len(images))
    conditionings = []
    for index, caption in enumerate(captions):
        conditionings.append(CLIPTextEncode(ctx, text=str(caption), clip=clip))
        ctx.progress(len(images) + index + 1, 2 * len(images))
    log.info("MakeTrainingDataset: %d latents and %d conditionings", len(latents), len(conditionings))
    return latents, conditionings


@node(display_name="Save Training Dataset", category=DATASET, experimental=True, output_node=True, outputs=[],
      input_is_list=True)
def SaveTrainingDataset(
    ctx: Context,
    latents: Annotated[Any, Socket(type="LATENT", tooltip="List of latent dicts from MakeTrainingDataset.")],
    conditioning: Annotated[Any, Socket(type="CONDITIONING", tooltip=(
        "List of conditioning lists from MakeTrainingDataset."))],
    folder_name: Annotated[str, String(tooltip="Name of folder to save dataset (inside output directory).")
                           ] = "training_dataset",
    shard_size: Annotated[int, Int(min=1, max=100000, tooltip="Number of samples per shard file.")] = 1000,
) -> NodeOutput:
    """Writes the encoded set as ``shard_NNNN.pkl`` files (torch.save of latents and conditionings) and a
    ``metadata.json``, as ComfyUI does; LoadTrainingDataset reads them back."""
    import io

    import torch

    if len(latents) != len(conditioning):
        raise ValueError(f"SaveTrainingDataset: {len(latents)} latents but {len(conditioning)} conditionings")
    folder = _output_folder(ctx, "SaveTrainingDataset", _first(folder_name))
    size = int(_first(shard_size))
    count = len(latents)
    shards = (count + size - 1) // size
    for shard in range(shards):
        buffer = io.BytesIO()
        torch.save({"latents": latents[shard * size:(shard + 1) * size],
                    "conditioning": conditioning[shard * size:(shard + 1) * size]}, buffer)
        write_replacing(safe_join(folder, f"shard_{shard:04d}.pkl"), buffer.getvalue())
    metadata = {"num_samples": count, "num_shards": shards, "shard_size": size}
    write_replacing(safe_join(folder, "metadata.json"), json.dumps(metadata, indent=2).encode())
    log.info("SaveTrainingDataset: %d samples in %d shards to %s", count, shards, folder)
    return NodeOutput()


@node(display_name="Load Training Dataset", category=DATASET, experimental=True)
def LoadTrainingDataset(
    ctx: Context,
    folder_name: Annotated[str, String(tooltip=(
        "Name of folder containing the saved dataset (inside output directory)."))] = "training_dataset",
) -> tuple[LatentList, ConditioningList]:
    import torch

    folder = safe_join(ctx.folders.output, folder_name)
    if not folder.is_dir():
        raise FileNotFoundError(f"LoadTrainingDataset: no dataset folder {folder_name!r} in {ctx.folders.output}")
    shards = sorted(p for p in folder.iterdir() if p.name.startswith("shard_") and p.name.endswith(".pkl"))
    if not shards:
        raise ValueError(f"LoadTrainingDataset: no shard_*.pkl files in {folder}")
    latents: list[Any] = []
    conditionings: list[Any] = []
    for shard in shards:
        data = torch.load(shard, weights_only=True)  # tensors, lists and dicts only: never code
        latents += data["latents"]
        conditionings += data["conditioning"]
    log.info("LoadTrainingDataset: %d samples from %s", len(latents), folder)
    return latents, conditionings


@node(display_name="Resolution Bucket", category="model/training", experimental=True, input_is_list=True,
      description="Group latents and conditionings into buckets")
def ResolutionBucket(
    latents: Annotated[Any, Socket(type="LATENT", tooltip="List of latent dicts to bucket by resolution.")],
    conditioning: Annotated[Any, Socket(type="CONDITIONING", tooltip=(
        "List of conditioning lists (must match latents length)."))],
) -> tuple[Annotated[Any, Output("latents", type="LATENT", is_list=True, tooltip=(
               "List of batched latent dicts, one per resolution bucket."))],
           Annotated[Any, Output("conditioning", type="CONDITIONING", is_list=True, tooltip=(
               "List of condition lists, one per resolution bucket."))]]:
    """Latents of equal size batched together, each bucket with its samples' conditioning entries (in the
    latents' order), for TrainLoraNode's bucket_mode."""
    import torch

    if len(latents) != len(conditioning):
        raise ValueError(f"ResolutionBucket: {len(latents)} latents (input 'latents') but {len(conditioning)} "
                         "conditionings (input 'conditioning')")
    buckets: dict[tuple[int, int], tuple[list[Any], list[Any]]] = {}
    for latent, cond in zip(latents, conditioning, strict=True):
        samples = latent["samples"]
        for i in range(samples.shape[0]):
            bucket = buckets.setdefault((int(samples.shape[-2]), int(samples.shape[-1])), ([], []))
            bucket[0].append(samples[i])
            bucket[1].append(cond[i] if len(cond) > i else cond[0])
    for (h, w), (items, _) in buckets.items():
        log.info("ResolutionBucket: %dx%d: %d samples", h, w, len(items))
    return ([{"samples": torch.stack(items)} for items, _ in buckets.values()],
            [conds for _, conds in buckets.values()])


NODES = [LoadImageDataSetFromFolder, LoadImageTextDataSetFromFolder, SaveImageDataSetToFolder,
         SaveImageTextDataSetToFolder, ResizeImagesByShorterEdge, ResizeImagesByLongerEdge, CenterCropImages,
         RandomCropImages, NormalizeImages, AdjustBrightness, AdjustContrast, ShuffleDataset, ShuffleImageTextDataset,
         MergeImageLists, TextToLowercase, TextToUppercase, TruncateText, AddTextPrefix, AddTextSuffix, ReplaceText,
         StripWhitespace, MergeTextLists, MakeTrainingDataset, SaveTrainingDataset, LoadTrainingDataset,
         ResolutionBucket]
