"""/object_info of the training and dataset nodes (issue 23), against shapes written down from ComfyUI's source.

References: ``comfy_extras/nodes_train.py`` (V3 schemas of TrainLoraNode, LoraModelLoader, SaveLoRA,
LossGraphNode, in their newest form: training_dtype "none", quantized_backward, bucket_mode, bypass_mode)
and ``comfy_extras/nodes_dataset.py`` as ComfyUI 0.8 serves it (categories ``dataset``, ``dataset/image``,
``dataset/text``, as the ImageGrid and ImageDeduplication already here), plus ResolutionBucket from the newer
file. Names, categories, display names, descriptions where ComfyUI gives one, input order and sections,
types, defaults, ranges, tooltips, output types, names, list flags and tooltips, output_node and the
experimental flag. One deliberate difference: MergeTextLists declares its output a list (ComfyUI declares
a single output and passes the whole list as one value, which no downstream node can read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.paths import Folders
from inkgraph.engine.core.registry import NodeRegistry
from inkgraph.engine.runtime.packs import default_registry

SEED_MAX = 0xFFFFFFFFFFFFFFFF


def i(name: str, kind: Any, **options: Any) -> tuple[str, Any, dict[str, Any]]:
    return name, kind, options


def o(kind: str, name: str, tooltip: str | None, is_list: bool = False) -> tuple[str, str, str | None, bool]:
    return kind, name, tooltip, is_list


TRAIN_INPUTS = [
    i("model", "MODEL", tooltip="The model to train the LoRA on."),
    i("latents", "LATENT", tooltip="The Latents to use for training, serve as dataset/input of the model."),
    i("positive", "CONDITIONING", tooltip="The positive conditioning to use for training."),
    i("batch_size", "INT", default=1, min=1, max=10000, tooltip="The batch size to use for training."),
    i("grad_accumulation_steps", "INT", default=1, min=1, max=1024,
      tooltip="The number of gradient accumulation steps to use for training."),
    i("steps", "INT", default=16, min=1, max=100000, tooltip="The number of steps to train the LoRA for."),
    i("learning_rate", "FLOAT", default=0.0005, min=0.0000001, max=1.0, step=0.0000001,
      tooltip="The learning rate to use for training."),
    i("rank", "INT", default=8, min=1, max=128, tooltip="The rank of the LoRA layers."),
    i("optimizer", ["AdamW", "Adam", "SGD", "RMSprop"], default="AdamW", tooltip="The optimizer to use for training."),
    i("loss_function", ["MSE", "L1", "Huber", "SmoothL1"], default="MSE",
      tooltip="The loss function to use for training."),
    i("seed", "INT", default=0, min=0, max=SEED_MAX,
      tooltip="The seed to use for training (used in generator for LoRA weight initialization and noise sampling)"),
    i("training_dtype", ["bf16", "fp32", "none"], default="bf16",
      tooltip="The dtype to use for training. 'none' preserves the model's native compute dtype instead of "
              "overriding it. For fp16 models, GradScaler is automatically enabled."),
    i("lora_dtype", ["bf16", "fp32"], default="bf16", tooltip="The dtype to use for lora."),
    i("quantized_backward", "BOOLEAN", default=False,
      tooltip="When using training_dtype 'none' and training on quantized model, doing backward with quantized "
              "matmul when enabled."),
    i("algorithm", ["LoRA", "LoHa", "LoKr", "OFT"], default="LoRA", tooltip="The algorithm to use for training."),
    i("gradient_checkpointing", "BOOLEAN", default=True, tooltip="Use gradient checkpointing for training."),
    i("checkpoint_depth", "INT", default=1, min=1, max=5, tooltip="Depth level for gradient checkpointing."),
    i("offloading", "BOOLEAN", default=False,
      tooltip="Offload model weights to CPU during training to save GPU memory."),
    i("existing_lora", ["[None]"], default="[None]",
      tooltip="The existing LoRA to append to. Set to None for new LoRA."),
    i("bucket_mode", "BOOLEAN", default=False,
      tooltip="Enable resolution bucket mode. When enabled, expects pre-bucketed latents from ResolutionBucket node."),
    i("bypass_mode", "BOOLEAN", default=False,
      tooltip="Enable bypass mode for training. When enabled, adapters are applied via forward hooks instead of "
              "weight modification. Useful for quantized models where weights cannot be directly modified."),
]

IMAGE_ONE = i("images", "IMAGE", tooltip="Image to process.")
IMAGE_LIST = i("images", "IMAGE", tooltip="List of images to process.")
TEXT_ONE = i("texts", "STRING", tooltip="Text to process.")
PROCESSED = [o("IMAGE", "images", "Processed images")]
PROCESSED_LIST = [o("IMAGE", "images", "Processed images", True)]
TEXTS_OUT = [o("STRING", "texts", "Processed texts")]
CROP = [i("width", "INT", default=512, min=1, max=8192, tooltip="Crop width."),
        i("height", "INT", default=512, min=1, max=8192, tooltip="Crop height.")]
SEED = i("seed", "INT", default=0, min=0, max=SEED_MAX, tooltip="Random seed.")
FOLDER = i("folder", [], tooltip="The folder to load images from.")
PREFIX = i("filename_prefix", "STRING", default="image", tooltip="Prefix for saved image filenames.")
ENCODED = [o("LATENT", "latents", "List of latent dicts", True),
           o("CONDITIONING", "conditioning", "List of conditioning lists", True)]

# class_type: (category, display name, description, required, optional, hidden, outputs, output_node)
REFERENCE: dict[str, tuple[str, str, str | None, list[Any], list[Any], list[str], list[Any], bool]] = {
    "TrainLoraNode": ("training", "Train LoRA", None, TRAIN_INPUTS, [], [],
                      [o("LORA_MODEL", "lora", "LoRA weights"), o("LOSS_MAP", "loss_map", "Loss history"),
                       o("INT", "steps", "Total training steps")], False),
    "LoraModelLoader": ("loaders", "Load LoRA Model", None, [
        i("model", "MODEL", tooltip="The diffusion model the LoRA will be applied to."),
        i("lora", "LORA_MODEL", tooltip="The LoRA model to apply to the diffusion model."),
        i("strength_model", "FLOAT", default=1.0, min=-100.0, max=100.0,
          tooltip="How strongly to modify the diffusion model. This value can be negative."),
        i("bypass", "BOOLEAN", default=False,
          tooltip="When enabled, applies LoRA in bypass mode without modifying base model weights. Useful for "
                  "training and when model weights are offloaded.")],
        [], [], [o("MODEL", "model", "The modified diffusion model.")], False),
    "SaveLoRA": ("loaders", "Save LoRA Weights", None, [
        i("lora", "LORA_MODEL", tooltip="The LoRA model to save. Do not use the model with LoRA layers."),
        i("prefix", "STRING", default="loras/ComfyUI_trained_lora",
          tooltip="The prefix to use for the saved LoRA file.")],
        [i("steps", "INT",
           tooltip="Optional: The number of steps the LoRA has been trained for, used to name the saved file.")],
        [], [], True),
    "LossGraphNode": ("training", "Plot Loss Graph", None, [
        i("loss", "LOSS_MAP", tooltip="Loss map from training node."),
        i("filename_prefix", "STRING", default="loss_graph", tooltip="Prefix for the saved loss graph image.")],
        [], ["prompt", "extra_pnginfo"], [], True),
    "LoadImageDataSetFromFolder": ("dataset", "Load Image Dataset from Folder", None, [FOLDER], [], [],
                                   [o("IMAGE", "images", "List of loaded images", True)], False),
    "LoadImageTextDataSetFromFolder": ("dataset", "Load Image and Text Dataset from Folder", None, [FOLDER], [], [],
                                       [o("IMAGE", "images", "List of loaded images", True),
                                        o("STRING", "texts", "List of text captions", True)], False),
    "SaveImageDataSetToFolder": ("dataset", "Save Image Dataset to Folder", None, [
        i("images", "IMAGE", tooltip="List of images to save."),
        i("folder_name", "STRING", default="dataset",
          tooltip="Name of the folder to save images to (inside output directory)."),
        PREFIX], [], [], [], True),
    "SaveImageTextDataSetToFolder": ("dataset", "Save Image and Text Dataset to Folder", None, [
        i("images", "IMAGE", tooltip="List of images to save."),
        i("texts", "STRING", tooltip="List of text captions to save."),
        i("folder_name", "STRING", default="dataset",
          tooltip="Name of the folder to save images to (inside output directory)."),
        PREFIX], [], [], [], True),
    "ResizeImagesByShorterEdge": ("dataset/image", "Resize Images by Shorter Edge",
                                  "Resize images so that the shorter edge matches the specified length while "
                                  "preserving aspect ratio.",
                                  [IMAGE_ONE, i("shorter_edge", "INT", default=512, min=1, max=8192,
                                                tooltip="Target length for the shorter edge.")], [], [], PROCESSED,
                                  False),
    "ResizeImagesByLongerEdge": ("dataset/image", "Resize Images by Longer Edge",
                                 "Resize images so that the longer edge matches the specified length while "
                                 "preserving aspect ratio.",
                                 [IMAGE_ONE, i("longer_edge", "INT", default=1024, min=1, max=8192,
                                               tooltip="Target length for the longer edge.")], [], [], PROCESSED,
                                 False),
    "CenterCropImages": ("dataset/image", "Center Crop Images", "Center crop all images to the specified dimensions.",
                         [IMAGE_ONE, *CROP], [], [], PROCESSED, False),
    "RandomCropImages": ("dataset/image", "Random Crop Images",
                         "Randomly crop all images to the specified dimensions (for data augmentation).",
                         [IMAGE_ONE, *CROP, SEED], [], [], PROCESSED, False),
    "NormalizeImages": ("dataset/image", "Normalize Images", "Normalize images using mean and standard deviation.", [
        IMAGE_ONE, i("mean", "FLOAT", default=0.5, min=0.0, max=1.0, tooltip="Mean value for normalization."),
        i("std", "FLOAT", default=0.5, min=0.001, max=1.0, tooltip="Standard deviation for normalization.")],
        [], [], PROCESSED, False),
    "AdjustBrightness": ("dataset/image", "Adjust Brightness", "Adjust brightness of all images.", [
        IMAGE_ONE, i("factor", "FLOAT", default=1.0, min=0.0, max=2.0,
                     tooltip="Brightness factor. 1.0 = no change, <1.0 = darker, >1.0 = brighter.")],
        [], [], PROCESSED, False),
    "AdjustContrast": ("dataset/image", "Adjust Contrast", "Adjust contrast of all images.", [
        IMAGE_ONE, i("factor", "FLOAT", default=1.0, min=0.0, max=2.0,
                     tooltip="Contrast factor. 1.0 = no change, <1.0 = less contrast, >1.0 = more contrast.")],
        [], [], PROCESSED, False),
    "ShuffleDataset": ("dataset/image", "Shuffle Image Dataset", "Randomly shuffle the order of images in the dataset.",
                       [IMAGE_LIST, SEED], [], [], PROCESSED_LIST, False),
    "ShuffleImageTextDataset": ("dataset/image", "Shuffle Image-Text Dataset", None, [
        i("images", "IMAGE", tooltip="List of images to shuffle."),
        i("texts", "STRING", tooltip="List of texts to shuffle."), SEED], [], [],
        [o("IMAGE", "images", "Shuffled images", True), o("STRING", "texts", "Shuffled texts", True)], False),
    "MergeImageLists": ("dataset/image", "Merge Image Lists", "Concatenate multiple image lists into one.",
                        [IMAGE_LIST], [], [], PROCESSED_LIST, False),
    "TextToLowercase": ("dataset/text", "Text to Lowercase", "Convert all texts to lowercase.", [TEXT_ONE], [], [],
                        TEXTS_OUT, False),
    "TextToUppercase": ("dataset/text", "Text to Uppercase", "Convert all texts to uppercase.", [TEXT_ONE], [], [],
                        TEXTS_OUT, False),
    "TruncateText": ("dataset/text", "Truncate Text", "Truncate all texts to a maximum length.", [
        TEXT_ONE, i("max_length", "INT", default=77, min=1, max=10000, tooltip="Maximum text length.")], [], [],
        TEXTS_OUT, False),
    "AddTextPrefix": ("dataset/text", "Add Text Prefix", "Add a prefix to all texts.", [
        TEXT_ONE, i("prefix", "STRING", default="", tooltip="Prefix to add.")], [], [], TEXTS_OUT, False),
    "AddTextSuffix": ("dataset/text", "Add Text Suffix", "Add a suffix to all texts.", [
        TEXT_ONE, i("suffix", "STRING", default="", tooltip="Suffix to add.")], [], [], TEXTS_OUT, False),
    "ReplaceText": ("dataset/text", "Replace Text", "Replace text in all texts.", [
        TEXT_ONE, i("find", "STRING", default="", tooltip="Text to find."),
        i("replace", "STRING", default="", tooltip="Text to replace with.")], [], [], TEXTS_OUT, False),
    "StripWhitespace": ("dataset/text", "Strip Whitespace", "Strip leading and trailing whitespace from all texts.",
                        [TEXT_ONE], [], [], TEXTS_OUT, False),
    "MergeTextLists": ("dataset/text", "Merge Text Lists", "Concatenate multiple text lists into one.", [
        i("texts", "STRING", tooltip="List of texts to process.")], [], [],
        [o("STRING", "texts", "Processed texts", True)], False),
    "MakeTrainingDataset": ("dataset", "Make Training Dataset", None, [
        i("images", "IMAGE", tooltip="List of images to encode."),
        i("vae", "VAE", tooltip="VAE model for encoding images to latents."),
        i("clip", "CLIP", tooltip="CLIP model for encoding text to conditioning.")],
        [i("texts", "STRING", tooltip="List of text captions. Can be length n (matching images), 1 (repeated for all), "
                                      "or omitted (uses empty string).")], [], ENCODED, False),
    "SaveTrainingDataset": ("dataset", "Save Training Dataset", None, [
        i("latents", "LATENT", tooltip="List of latent dicts from MakeTrainingDataset."),
        i("conditioning", "CONDITIONING", tooltip="List of conditioning lists from MakeTrainingDataset."),
        i("folder_name", "STRING", default="training_dataset",
          tooltip="Name of folder to save dataset (inside output directory)."),
        i("shard_size", "INT", default=1000, min=1, max=100000, tooltip="Number of samples per shard file.")],
        [], [], [], True),
    "LoadTrainingDataset": ("dataset", "Load Training Dataset", None, [
        i("folder_name", "STRING", default="training_dataset",
          tooltip="Name of folder containing the saved dataset (inside output directory).")], [], [], ENCODED, False),
    "ResolutionBucket": ("model/training", "Resolution Bucket", "Group latents and conditionings into buckets", [
        i("latents", "LATENT", tooltip="List of latent dicts to bucket by resolution."),
        i("conditioning", "CONDITIONING", tooltip="List of conditioning lists (must match latents length).")], [], [],
        [o("LATENT", "latents", "List of batched latent dicts, one per resolution bucket.", True),
         o("CONDITIONING", "conditioning", "List of condition lists, one per resolution bucket.", True)], False),
}


@pytest.fixture(scope="module")
def registry() -> NodeRegistry:
    return default_registry(entry_points=False)


def test_every_comfyui_training_and_dataset_node_is_here(registry: NodeRegistry) -> None:
    """ComfyUI 0.8's dataset and training nodes (its video ones aside), with ImageGrid and ImageDeduplication
    from image_batch."""
    assert not [name for name in [*REFERENCE, "ImageGrid", "ImageDeduplication"] if registry.get(name) is None]


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(registry: NodeRegistry, class_type: str, tmp_path: Path) -> None:
    category, display, description, required, optional, hidden, outputs, output_node = REFERENCE[class_type]
    spec = registry.get(class_type)
    assert spec is not None, f"{class_type} is not registered"
    info = node_info(spec, Folders.at(tmp_path))  # no LoRAs, no input folders: the lists ComfyUI adds to
    assert (info["name"], info["category"], info["display_name"]) == (class_type, category, display)
    if description is not None:
        assert info["description"] == description
    order = {"required": [name for name, _, _ in required]}
    if optional:
        order["optional"] = [name for name, _, _ in optional]
    if hidden:
        order["hidden"] = hidden
    assert info["input_order"] == order
    for section, inputs in (("required", required), ("optional", optional)):
        for name, kind, options in inputs:
            config = info["input"][section][name]
            assert config[0] == kind, f"{class_type}.{name}: {config[0]!r}"
            given = config[1] if len(config) > 1 else {}
            assert given == options, f"{class_type}.{name}: {given} != {options}"  # no option more, none less
    assert info["output"] == [kind for kind, _, _, _ in outputs]
    assert info["output_name"] == [name for _, name, _, _ in outputs]
    assert info["output_is_list"] == [is_list for _, _, _, is_list in outputs]
    assert info.get("output_tooltips") == ([tip for _, _, tip, _ in outputs] if outputs else None)
    assert info["output_node"] is output_node
    assert info.get("experimental", False) is True
