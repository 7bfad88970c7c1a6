"""ComfyUI's dataset nodes: folders of images and captions (kohya's repeat folders too), transforms that draw
as ComfyUI draws (numpy's legacy generator reseeded per image or list), the encoded training set and its
round trip through shards, resolution buckets; and a graph from a folder to a trained LoRA, cached."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes import dataset as ds
from tests.fixtures.tiny_sd import save_single_file


class Ctx:
    def __init__(self, runtime: Runtime) -> None:
        self.models, self.folders, self.extra_data = runtime.models, runtime.folders, {}
        self.node_id, self.class_type, self.prompt_id = "1", "test", "run"

    def progress(self, *args: Any, **kwargs: Any) -> None:
        return None

    def text(self, _: str) -> None:
        return None

    def check_interrupted(self) -> None:
        return None


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    base = tmp_path_factory.mktemp("dataset")
    save_single_file("sd1", base / "models" / "checkpoints" / "tiny.safetensors", seed=3)
    folder = base / "input" / "set"
    (folder / "3_extra").mkdir(parents=True)
    for name, colour in (("b.png", (0, 0, 255)), ("a.png", (255, 0, 0))):
        Image.new("RGB", (32, 24), colour).save(folder / name)
    (folder / "a.txt").write_text("  a red picture \n", encoding="utf-8")
    Image.new("RGB", (32, 24), (0, 255, 0)).save(folder / "3_extra" / "c.png")
    (folder / "3_extra" / "c.txt").write_text("green", encoding="utf-8")
    (folder / "notes.md").write_text("not an image", encoding="utf-8")
    return Runtime.create(Settings(base_dir=base))


def test_image_text_folder_pairs_captions_and_repeats_kohya_folders(runtime: Runtime) -> None:
    ctx = Ctx(runtime)
    assert ds.input_subfolders(runtime.folders) == ["set", "set/3_extra"]
    images, texts = ds.LoadImageTextDataSetFromFolder(ctx, folder="set")  # type: ignore[arg-type]
    # in name order (the folder "3_extra" first), c three times, b without a caption
    assert texts == ["green", "green", "green", "a red picture", ""]
    assert [tuple((img[0, 0, 0] * 255).round().int().tolist()) for img in images] == [
        (0, 255, 0), (0, 255, 0), (0, 255, 0), (255, 0, 0), (0, 0, 255)]
    assert all(img.shape == (1, 24, 32, 3) for img in images)
    only = ds.LoadImageDataSetFromFolder(ctx, folder="set")  # type: ignore[arg-type]
    assert len(only) == 2  # no subfolders
    with pytest.raises(Exception, match="leaves|outside|escape"):
        ds.LoadImageDataSetFromFolder(ctx, folder="../..")  # type: ignore[arg-type]


def test_random_crop_and_shuffles_draw_as_comfyui() -> None:
    image = torch.rand(1, 40, 50, 3)
    out = ds.RandomCropImages(image, width=20, height=10, seed=7)
    rng = np.random.RandomState(7)  # ComfyUI: np.random.seed(seed % (2**32 - 1)); randint(left), randint(top)
    left, top = rng.randint(0, 31), rng.randint(0, 31)
    expected = (np.clip(image[0].numpy() * 255, 0, 255).astype(np.uint8)[top:top + 10, left:left + 20]) / 255.0
    assert out.shape == (1, 10, 20, 3) and np.allclose(out[0].numpy(), expected)
    items = [torch.full((1, 2, 2, 3), float(k)) for k in range(6)]
    order = np.random.RandomState(3).permutation(6).tolist()
    assert [int(x[0, 0, 0, 0]) for x in ds.ShuffleDataset(items, seed=[3])] == order
    images, texts = ds.ShuffleImageTextDataset(items, [str(k) for k in range(6)], seed=[3])
    assert texts == [str(k) for k in order] and [int(x[0, 0, 0, 0]) for x in images] == order


def test_image_transforms() -> None:
    image = torch.rand(2, 30, 60, 3)
    assert ds.ResizeImagesByShorterEdge(image, shorter_edge=15).shape == (2, 15, 30, 3)
    assert ds.ResizeImagesByLongerEdge(image, longer_edge=30).shape == (2, 15, 30, 3)
    assert ds.CenterCropImages(image, width=20, height=100).shape == (2, 30, 20, 3)
    assert torch.allclose(ds.NormalizeImages(image, mean=0.5, std=0.25), (image - 0.5) / 0.25)
    assert torch.equal(ds.AdjustBrightness(image, factor=2.0), (image * 2).clamp(0, 1))
    assert torch.equal(ds.AdjustContrast(image, factor=0.0), torch.full_like(image, 0.5))


def test_text_transforms() -> None:
    assert ds.AddTextPrefix("cat", prefix="photo of ") == "photo of cat"
    assert ds.AddTextSuffix("cat", suffix=", best") == "cat, best"
    assert ds.ReplaceText("a red cat", find="red", replace="blue") == "a blue cat"
    assert ds.TruncateText("abcdef", max_length=3) == "abc"
    assert (ds.TextToLowercase("AbC"), ds.TextToUppercase("AbC"), ds.StripWhitespace(" x ")) == ("abc", "ABC", "x")
    assert ds.MergeTextLists(["a", "b"]) == ["a", "b"]


def test_training_set_encodes_saves_loads_and_buckets(runtime: Runtime) -> None:
    from inkgraph.nodes.loaders import CheckpointLoaderSimple

    ctx = Ctx(runtime)
    with torch.inference_mode():
        _, clip, vae = CheckpointLoaderSimple(ctx, ckpt_name="tiny.safetensors")
        images = [torch.rand(1, 16, 16, 3), torch.rand(1, 16, 24, 3)]
        latents, conds = ds.MakeTrainingDataset(ctx, images=images, vae=[vae], clip=[clip], texts=["one caption"])
        with pytest.raises(ValueError, match="3 texts"):
            ds.MakeTrainingDataset(ctx, images=images, vae=[vae], clip=[clip], texts=["a", "b", "c"])
    assert len(latents) == len(conds) == 2 and torch.equal(conds[0][0][0], conds[1][0][0])  # one caption for all
    ds.SaveTrainingDataset(ctx, latents=latents, conditioning=conds, folder_name=["saved"], shard_size=[1])
    assert sorted(p.name for p in (runtime.folders.output / "saved").iterdir()) == [
        "metadata.json", "shard_0000.pkl", "shard_0001.pkl"]
    loaded, loaded_conds = ds.LoadTrainingDataset(ctx, folder_name="saved")
    assert all(torch.equal(a["samples"], b["samples"]) for a, b in zip(latents, loaded, strict=True))
    assert torch.equal(loaded_conds[1][0][0], conds[1][0][0])
    buckets, bucket_conds = ds.ResolutionBucket(latents=latents + latents[:1], conditioning=conds + conds[:1])
    first, second = (tuple(b["samples"].shape) for b in buckets)
    assert first[0] == 2 and second[0] == 1 and first[1:] == tuple(latents[0]["samples"].shape[1:])
    assert second[1:] == tuple(latents[1]["samples"].shape[1:])
    assert [len(c) for c in bucket_conds] == [2, 1]


def test_graph_from_a_folder_to_a_trained_lora_is_cached(runtime: Runtime) -> None:
    graph: dict[str, Any] = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny.safetensors"}},
        "2": {"class_type": "LoadImageTextDataSetFromFolder", "inputs": {"folder": "set"}},
        "3": {"class_type": "ResizeImagesByShorterEdge", "inputs": {"images": ["2", 0], "shorter_edge": 16}},
        "4": {"class_type": "CenterCropImages", "inputs": {"images": ["3", 0], "width": 16, "height": 16}},
        "5": {"class_type": "AddTextPrefix", "inputs": {"texts": ["2", 1], "prefix": "photo, "}},
        "6": {"class_type": "MakeTrainingDataset", "inputs": {"images": ["4", 0], "vae": ["1", 2], "clip": ["1", 1],
                                                              "texts": ["5", 0]}},
        "7": {"class_type": "TrainLoraNode", "inputs": {
            "model": ["1", 0], "latents": ["6", 0], "positive": ["6", 1], "batch_size": 2, "grad_accumulation_steps": 1,
            "steps": 2, "learning_rate": 0.001, "rank": 2, "optimizer": "Adam", "loss_function": "L1", "seed": 3,
            "training_dtype": "fp32", "lora_dtype": "fp32", "quantized_backward": False, "algorithm": "LoRA",
            "gradient_checkpointing": True, "checkpoint_depth": 2, "offloading": False, "existing_lora": "[None]",
            "bucket_mode": False, "bypass_mode": False}},
        "8": {"class_type": "SaveLoRA", "inputs": {"lora": ["7", 0], "prefix": "loras/graph", "steps": ["7", 2]}},
        "9": {"class_type": "LossGraphNode", "inputs": {"loss": ["7", 1], "filename_prefix": "loss"}},
    }
    from inkgraph.engine.core.events import Progress

    events: list[Any] = []
    unsubscribe = runtime.bus.subscribe(lambda event, target: events.append(event))
    try:
        result, outcome = runtime.run(graph)
    finally:
        unsubscribe()
    assert result.ok and outcome is not None and outcome.status_str == "success", (result.error_body(), outcome)
    # one progress message per step, as the websocket and the CLI bar show them
    assert [(e.value, e.max) for e in events if isinstance(e, Progress) and e.node == "7"] == [(1, 2), (2, 2)]
    assert [p.name for p in (runtime.folders.output / "loras").glob("graph_*")] == ["graph_2_steps_00001_.safetensors"]
    assert outcome.outputs["9"]["images"][0]["type"] == "temp"
    graph["8"]["inputs"]["prefix"] = "loras/again"  # a downstream change: the training is not run again
    _, second = runtime.run(graph)
    assert second is not None and second.status_str == "success"
    assert "7" not in second.executed and "8" in second.executed
