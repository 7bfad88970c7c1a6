"""The embedded demo model: its data and measurements, its training (tiny budget, resumed), and the quality
of the shipped files measured through the ordinary graph."""

from __future__ import annotations

import random
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph.engine.core.resources import shipped_models
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes.demo import architecture as arch
from inkgraph.nodes.demo.evaluate import generate, scores, workflow
from inkgraph.nodes.demo.scenes import (
    ASPECTS,
    BACKGROUNDS,
    COLOURS,
    PHRASES,
    POSITION_PHRASES,
    POSITIONS,
    SHAPES,
    SIZES,
    Scene,
    compose,
    evaluation_set,
    matches,
    position_of,
    prompt_for,
    random_scene,
    read_image,
    render,
    visible,
)

# The targets on the evaluation set, 512×512 through the default graph.
TARGETS = {"background": 0.95, "colour": 0.95, "shape": 0.9, "position": 0.9, "size": 0.9}


@pytest.mark.parametrize("pixels", [128, 512])
def test_measurement_reads_drawn_scenes_exactly(pixels: int) -> None:
    rng = random.Random(pixels)
    for _ in range(150):
        scene = random_scene(rng)
        reading = read_image(render(scene, pixels, supersample=4 if pixels == 128 else 2))
        assert all(matches(scene, reading).values()), (scene, reading)


def test_measurement_ignores_specks_and_reads_the_shape_where_it_is() -> None:
    from PIL import ImageDraw

    image = render(Scene("square", "blue", "white", "small", "bottom right"))
    ImageDraw.Draw(image).rectangle((3, 3, 5, 5), fill=COLOURS["red"])  # a stray speck in the top left corner
    reading = read_image(image)
    assert (reading.colour, reading.shape, reading.position, reading.size) == \
        ("blue", "square", "bottom right", "small")
    assert reading.centre == pytest.approx(POSITIONS["bottom right"], abs=1.5 / 128)
    assert position_of(0.1, 0.9) == "bottom left" and position_of(0.5, 0.34) == "center"
    assert position_of(0.99, 0.0) == "top right"


def test_prompts_use_the_grammar_and_its_variants() -> None:
    scene = Scene("circle", "orange", "orange", "large", "top left")
    assert compose(scene, "top left", "on {a} {name} background", order=2) == \
        "a large orange circle, top left, on an orange background"
    assert compose(scene, None, "on {a} {name} background", size=False) == "an orange circle on an orange background"
    assert prompt_for(Scene("circle", "red", "white", "small", "top left")) == \
        "a small red circle in the top left on a white background"
    rng = random.Random(0)
    prompts = [prompt_for(random_scene(rng), rng) for _ in range(3000)]
    for phrases in POSITION_PHRASES.values():  # every variant is trained
        assert all(any(f" {phrase}" in p for p in prompts) for phrase in phrases)
    assert any(" on a red background" in p for p in prompts) and any(" an orange background" in p for p in prompts)
    assert not any(re.search(r"\ba [aeiou]|\ban [^aeiou]", p) for p in prompts + [i.prompt for i in evaluation_set()])


def test_evaluation_set_covers_the_vocabulary() -> None:
    items = evaluation_set()
    assert len(items) >= 60 and len({(i.prompt, i.seed) for i in items}) == len(items)
    scenes = [item.scene for item in items]
    assert {(s.position, s.size) for s in scenes} == {(p, z) for p in POSITIONS for z in SIZES}
    assert {s.shape for s in scenes} == set(SHAPES) and {s.colour for s in scenes} == set(COLOURS)
    assert {s.background for s in scenes} == set(BACKGROUNDS) and len(BACKGROUNDS) == 13
    for position, phrases in POSITION_PHRASES.items():  # the common variants, not only the canonical phrase
        used = {phrase for phrase in phrases for i in items if i.scene.position == position and phrase in i.prompt}
        assert len(used) >= 4, (position, used)
    for item in items:
        scene = item.scene
        assert all(word in item.prompt for word in (scene.size, scene.colour, scene.shape, scene.background))


def test_train_demo_writes_loadable_models_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from safetensors.torch import load_file

    from inkgraph.engine.cli import EXIT_INVALID, main

    args = ["train-demo", "--minutes", "0.08", "--bank-size", "32", "--work", str(tmp_path / "work"),
            "--output", str(tmp_path / "models"), "--base-dir", str(tmp_path / "base"), "--threads", "1"]
    assert main(args) == 0
    first = torch.load(tmp_path / "work" / "unet.pt", weights_only=False)["step"]
    assert main([*args[:2], "0.16", *args[3:]]) == 0  # more minutes: the UNet continues where it stopped
    assert torch.load(tmp_path / "work" / "unet.pt", weights_only=False)["step"] > first
    runtime = Runtime.create(Settings(base_dir=tmp_path))
    result, outcome = runtime.run(workflow("a red circle", 1, steps=2))
    assert result.ok and outcome is not None and outcome.status_str == "success", (result.error_body(), outcome)
    assert outcome.outputs["9"]["images"]

    # --init-from: a new run continues from those files. The VAE's encoder is kept bit for bit (the latents the
    # UNet learnt stay the same), its decoder is refined, and the UNet and the upscaler train on.
    def again(init_from: Path, work: str) -> list[str]:
        return ["train-demo", "--minutes", "0.08", "--bank-size", "32", "--work", str(tmp_path / work),
                "--output", str(tmp_path / "models2"), "--init-from", str(init_from), "--threads", "1",
                "--base-dir", str(tmp_path / "base")]

    assert main(again(tmp_path / "models", "work2")) == 0
    for stage in ("vae", "unet", "upscaler"):
        assert torch.load(tmp_path / "work2" / f"{stage}.pt", weights_only=False)["step"] > 0, stage
    before = load_file(str(tmp_path / "models" / "checkpoints" / arch.CHECKPOINT_NAME))
    after = load_file(str(tmp_path / "models2" / "checkpoints" / arch.CHECKPOINT_NAME))
    encoder = [key for key in before if key.startswith(("first_stage_model.encoder.", "first_stage_model.quant_conv."))]
    decoder = [key for key in before if key.startswith("first_stage_model.decoder.")]
    assert encoder and all(torch.equal(before[key], after[key]) for key in encoder)
    assert any(not torch.equal(before[key], after[key]) for key in decoder)
    assert any(not torch.equal(before[key], after[key]) for key in before if key.startswith("model.diffusion_model."))
    upscalers = [load_file(str(tmp_path / folder / "upscale_models" / arch.UPSCALER_NAME))
                 for folder in ("models", "models2")]
    assert upscalers[0].keys() == upscalers[1].keys()
    assert any(not torch.equal(upscalers[0][key], upscalers[1][key]) for key in upscalers[0])
    assert main(again(tmp_path / "nothing", "work3")) == EXIT_INVALID
    assert "init-from" in capsys.readouterr().err


def test_unet_learning_rate_warms_up_holds_then_decays_to_a_tenth() -> None:
    from inkgraph.nodes.demo.train import unet_learning_rate

    assert unet_learning_rate(0, 0.0) < unet_learning_rate(150, 0.0) < unet_learning_rate(299, 0.0) == 5e-4
    assert unet_learning_rate(5000, 0.5) == unet_learning_rate(5000, 0.7) == 5e-4
    rates = [unet_learning_rate(5000, 0.7 + 0.03 * i) for i in range(11)]
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False))
    assert rates[-1] == pytest.approx(5e-5) and unet_learning_rate(5000, 1.2) == pytest.approx(5e-5)


def test_loss_weight_is_the_x0_error_weighted_by_the_snr_clamped_to_one_and_five() -> None:
    from inkgraph.nodes.demo.train import _alphas_cumprod, loss_weight

    alphas = _alphas_cumprod()
    generator = torch.Generator().manual_seed(0)
    for t in (999, 900, 500, 300, 100, 10):
        a = alphas[t]
        snr = a / (1 - a)
        x0, noise, v_hat = (torch.randn(4, 16, 16, generator=generator) for _ in range(3))
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
        v = a.sqrt() * noise - (1 - a).sqrt() * x0
        x0_hat = a.sqrt() * x_t - (1 - a).sqrt() * v_hat  # the picture a v-model's output stands for
        weighted_v = loss_weight(snr) * ((v_hat - v) ** 2).mean()
        assert float(weighted_v) == pytest.approx(float(snr.clamp(1, 5) * ((x0_hat - x0) ** 2).mean()), rel=1e-4)
    assert loss_weight(torch.tensor([0.005, 1.0, 5.0, 50.0])).tolist() == pytest.approx([1 / 1.005, 0.5, 5 / 6, 5 / 51])


def test_training_timesteps_favour_the_noisy_end() -> None:
    from inkgraph.nodes.demo.train import sample_timesteps

    t = sample_timesteps(20000, torch.Generator().manual_seed(0))
    again = sample_timesteps(20000, torch.Generator().manual_seed(0))
    assert torch.equal(t, again) and int(t.min()) == 0 and int(t.max()) == 999
    assert float((t >= 700).float().mean()) == pytest.approx(0.3 + 0.7 * 0.3, abs=0.01)
    assert float((t < 100).float().mean()) == pytest.approx(0.7 * 0.1, abs=0.01)


def test_position_drill_starts_with_one_kind_then_widens_to_every_kind_and_stays_a_quarter() -> None:
    from inkgraph.nodes.demo import curriculum

    kinds = curriculum.kinds(11, 500)
    assert kinds[0] == curriculum.FIRST_KIND and len(set(kinds)) == len(kinds)
    assert all(visible(colour, background) for _, colour, background in kinds)
    assert {shape for shape, _, _ in kinds} == set(SHAPES) and {b for _, _, b in kinds} == set(BACKGROUNDS)
    assert curriculum.kinds(11, 40) == kinds[:40] and curriculum.kinds(12, 40)[1:] != kinds[1:40]

    solo = curriculum.plan(0, 32, 120)
    assert solo == curriculum.plan(curriculum.SOLO_STEPS - 1, 32, 120) == curriculum.Plan(32, 1, True)
    growing = [curriculum.plan(curriculum.SOLO_STEPS + i, 32, 120) for i in range(curriculum.GROW_STEPS)]
    assert all(p.samples == 32 and not p.solo for p in growing)
    assert [p.kinds for p in growing] == sorted(p.kinds for p in growing) and growing[-1].kinds == 120
    after = curriculum.plan(curriculum.SOLO_STEPS + curriculum.GROW_STEPS, 32, 120)
    assert after == curriculum.Plan(8, 120, False)

    scenes = curriculum.drill_scenes(11, 3)
    size = curriculum.per_kind()
    assert len(scenes) == 3 * size and size == len(POSITIONS) * len(SIZES) * curriculum.JITTERS
    for kind, (shape, colour, background) in enumerate(curriculum.kinds(11, 3)):
        group = scenes[kind * size:(kind + 1) * size]
        assert {(s.shape, s.colour, s.background) for s in group} == {(shape, colour, background)}
        assert {(s.position, s.size) for s in group} == {(p, z) for p in POSITIONS for z in SIZES}
        # every drawing shows what its prompt says, jitter included
        assert all(all(matches(s, read_image(render(s))).values()) for s in group)
    rng = random.Random(0)
    picked = [scenes[curriculum.pick(rng, scenes, solo)] for _ in range(200)]
    assert {(s.shape, s.colour, s.background, s.size) for s in picked} == {(*curriculum.FIRST_KIND, "large")}
    assert {s.position for s in picked} == set(POSITIONS)
    assert curriculum.prompt(picked[0], rng, solo=True) == compose(picked[0], PHRASES[picked[0].position],
                                                                    "on {a} {name} background")
    for scene in scenes:  # every drill prompt names the scene's position, in one of its phrasings
        text = curriculum.prompt(scene, rng, solo=False)
        assert any(phrase in text for phrase in POSITION_PHRASES[scene.position]), text


def test_shipped_checkpoint_is_sampled_as_v_prediction() -> None:
    import json

    from safetensors import safe_open

    from inkgraph.nodes.diffusion.checkpoint import METADATA_KEY

    models = shipped_models()
    assert models is not None
    with safe_open(str(models / "checkpoints" / arch.CHECKPOINT_NAME), "pt") as file:
        metadata = file.metadata()
    assert json.loads(metadata[METADATA_KEY])["scheduler"]["prediction_type"] == "v_prediction"
    assert metadata["modelspec.predict_key"] == "v"


@pytest.fixture(scope="module")
def shipped_results() -> list[Any]:
    """The evaluation set through the default graph on the shipped files (512×512, generated once)."""
    models = shipped_models()
    assert models is not None and (models / "checkpoints" / arch.CHECKPOINT_NAME).is_file()
    with tempfile.TemporaryDirectory() as base:
        results = generate(Runtime.create(Settings(base_dir=base)))
    assert all(result.image.size == (512, 512) for result in results)
    return results


@pytest.fixture(scope="module")
def shipped_scores(shipped_results: list[Any]) -> dict[str, float]:
    measured = scores(shipped_results)
    assert set(measured) == set(ASPECTS) == set(TARGETS)
    return measured


@pytest.mark.parametrize("aspect", ASPECTS)
def test_shipped_demo_model_meets_the_quality_target(shipped_scores: dict[str, float], aspect: str) -> None:
    """Each figure against the issue's target (background and shape colour ≥ 95%; shape, position and size
    ≥ 90%) on the fixed evaluation set, measured on the 512×512 upscaled output of the default graph."""
    assert shipped_scores[aspect] >= TARGETS[aspect], f"measured {shipped_scores}, targets {TARGETS}"


def test_evaluation_samples_as_the_default_workflow_does() -> None:
    """The figures are the default workflow's: the evaluation's graph has txt2img.json's loader, size,
    sampler, scheduler, steps, cfg and upscaler."""
    import json

    shipped = json.loads((Path(__file__).resolve().parents[2] / "workflows" / "txt2img.json").read_text())
    measured = workflow("a prompt", 1)
    sampler = next(node["inputs"] for node in shipped.values() if node["class_type"] == "KSampler")
    for key in ("steps", "cfg", "sampler_name", "scheduler", "denoise"):
        assert measured["5"]["inputs"][key] == sampler[key], key
    for class_type in ("CheckpointLoaderSimple", "EmptyLatentImage", "UpscaleModelLoader"):
        ours = next(node["inputs"] for node in measured.values() if node["class_type"] == class_type)
        theirs = next(node["inputs"] for node in shipped.values() if node["class_type"] == class_type)
        assert {k: v for k, v in ours.items() if not isinstance(v, list)} == \
            {k: v for k, v in theirs.items() if not isinstance(v, list)}, class_type


@pytest.mark.parametrize("name", ["txt2img.json"])
def test_default_workflow_makes_a_512_picture(tmp_path: Path, name: str) -> None:
    import json

    from PIL import Image

    prompt = json.loads((Path(__file__).resolve().parents[2] / "workflows" / name).read_text())
    runtime = Runtime.create(Settings(base_dir=tmp_path))
    result, outcome = runtime.run(prompt)
    assert result.ok and outcome is not None and outcome.status_str == "success", (result.error_body(), outcome)
    (item,) = [image for output in outcome.outputs.values() for image in output.get("images", [])]
    with Image.open(runtime.folders.resolve(item["type"], item["filename"], item["subfolder"])) as png:
        assert png.size == (512, 512)
        reading = read_image(png.convert("RGB"))
    # The README's first command draws what its prompt says.
    assert prompt["2"]["inputs"]["text"] == "a small red circle in the top left on a white background"
    assert all(matches(Scene("circle", "red", "white", "small", "top left"), reading).values()), reading
