"""LoRA training in the graph (issue 23) on tiny SD1, SDXL and Flux models: the training objective falls;
the saved file, reloaded through LoraLoader, reproduces LoraModelLoader's result exactly and equals the
trained peft network; an interrupted run keeps a valid LoRA file; a second run with the same seed is
identical; gradient checkpointing changes nothing; an existing LoRA is continued; the graph caches the
training like any node."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
import torch

from inkgraph.engine.core.context import Interrupted
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes.diffusion import lora as lora_files
from tests.fixtures import tiny_dit as td
from tests.fixtures.tiny_sd import save_single_file

FAST = dict(batch_size=2, grad_accumulation_steps=1, learning_rate=0.01, rank=4, optimizer="AdamW",
            loss_function="MSE", seed=0, training_dtype="fp32", lora_dtype="fp32", quantized_backward=False,
            algorithm="LoRA", gradient_checkpointing=False, checkpoint_depth=1, offloading=False,
            existing_lora="[None]", bucket_mode=False, bypass_mode=False)


class Ctx:
    """A node context for calling nodes directly: progress can interrupt after ``stop_at`` calls."""

    def __init__(self, runtime: Runtime, stop_at: int | None = None) -> None:
        self.models, self.folders, self.extra_data = runtime.models, runtime.folders, {}
        self.node_id, self.class_type, self.prompt_id = "4", "TrainLoraNode", "test-run"
        self.stop_at, self.calls, self.texts = stop_at, 0, []

    def progress(self, value: float, maximum: float, *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        if self.stop_at is not None and self.calls > self.stop_at:
            raise Interrupted("interrupted by the test")

    def text(self, text: str) -> None:
        self.texts.append(text)

    def check_interrupted(self) -> None:
        return None


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    base = tmp_path_factory.mktemp("training")
    save_single_file("sd1", base / "models" / "checkpoints" / "tiny.safetensors", seed=3)
    save_single_file("sdxl", base / "models" / "checkpoints" / "tinyxl.safetensors", seed=4)
    td.save(td.flux_state(td.flux("dev", 1)), base / "models" / "diffusion_models" / "flux1-dev.safetensors")
    td.save(td.flux_state(td.chroma(2), chroma_model=True), base / "models" / "diffusion_models" / "chroma.safetensors")
    td.save(td.sd3_state(td.sd3(3)), base / "models" / "diffusion_models" / "sd3.5_medium.safetensors")
    (base / "models" / "loras").mkdir(parents=True)
    return Runtime.create(Settings(base_dir=base))


def dataset(ctx: Ctx, kind: str) -> tuple[Any, list[Any], list[Any]]:
    """(MODEL, latents, conditionings): two latents each with its own caption on a tiny model (SD), made
    directly for Flux (a T5-wide context, a pooled vector, the guidance), or eight of the ring example's
    pictures encoded by the embedded demo model ("demo", a real SD1 denoiser)."""
    from inkgraph.nodes.conditioning import CLIPTextEncode
    from inkgraph.nodes.loaders import CheckpointLoaderSimple, UNETLoader

    generator = torch.Generator().manual_seed(5)
    with torch.inference_mode():  # as the executor runs loaders
        if kind in ("chroma", "sd3"):
            name = {"chroma": "chroma.safetensors", "sd3": "sd3.5_medium.safetensors"}[kind]
            model = UNETLoader(ctx, unet_name=name, weight_dtype="default")
            latents = [{"samples": torch.randn(1, 16, 8, 8, generator=generator)} for _ in range(2)]
            options: dict[str, Any] = {"pooled_output": torch.randn(1, 2 * td.POOLED, generator=generator)} \
                if kind == "sd3" else {}
            conds = [[[torch.randn(1, 6, td.CONTEXT, generator=generator), options]] for _ in range(2)]
            return model, latents, conds
        if kind == "flux":
            model = UNETLoader(ctx, unet_name="flux1-dev.safetensors", weight_dtype="default")
            latents = [{"samples": torch.randn(1, 16, 8, 8, generator=generator)} for _ in range(2)]
            conds = [[[torch.randn(1, 6, td.CONTEXT, generator=generator),
                       {"pooled_output": torch.randn(1, td.POOLED, generator=generator), "guidance": 3.5}]]
                     for _ in range(2)]
            return model, latents, conds
        if kind == "demo":
            from inkgraph.nodes.demo import lora_data
            from inkgraph.nodes.image_utils import from_pil
            from inkgraph.nodes.vae import VAEEncode

            model, clip, vae = CheckpointLoaderSimple(ctx, ckpt_name="inkgraph-demo.safetensors")
            folder = ctx.folders.input / "rings"
            if not folder.is_dir():
                lora_data.write(folder, rings=6, regular=2)
            files = sorted(folder.glob("*.png"))
            from PIL import Image

            latents = [VAEEncode(ctx, pixels=from_pil(Image.open(f).convert("RGB")), vae=vae) for f in files]
            conds = [CLIPTextEncode(ctx, text=f.with_suffix(".txt").read_text().strip(), clip=clip) for f in files]
            return model, latents, conds
        name = "tiny.safetensors" if kind == "sd1" else "tinyxl.safetensors"
        model, clip, _ = CheckpointLoaderSimple(ctx, ckpt_name=name)
        latents = [{"samples": torch.randn(1, 4, 8, 8, generator=generator)} for _ in range(2)]
        conds = [CLIPTextEncode(ctx, text=text, clip=clip) for text in ("a red circle", "a blue square")]
    return model, latents, conds


def train(ctx: Ctx, kind: str, steps: int = 3, **overrides: Any) -> tuple[dict[str, torch.Tensor], dict[str, Any], int]:
    from inkgraph.nodes.training import TrainLoraNode

    model, latents, conds = dataset(ctx, kind)
    inputs = {**FAST, "steps": steps, **overrides}
    with torch.inference_mode():
        lora, loss, total = TrainLoraNode(ctx, model=[model], latents=latents, positive=conds,
                                          **{k: [v] for k, v in inputs.items()})
    return lora, loss, total


def objective(model: Any, latents: list[Any], conds: list[Any], seed: int = 11, draws: int = 8) -> float:
    """The training objective (MSE of the denoised prediction against x₀) at fixed σ and noise draws: a
    plain evaluation of what TrainLoraNode minimises, with the same model sampling and adapter."""
    from inkgraph.nodes.diffusion.conds import EncodeContext, prepare
    from inkgraph.nodes.diffusion.guidance import ModelRunner
    from inkgraph.nodes.diffusion.model_api import adapter_of, latent_format_of, model_sampling_of

    sampling, adapter, fmt = model_sampling_of(model), adapter_of(model), latent_format_of(model)
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    with model.use() as network, torch.no_grad():
        runner = ModelRunner(network, adapter, sampling)
        for latent, cond in zip(latents, conds, strict=True):
            x0 = fmt.process_in(latent["samples"].float())
            (entry,) = prepare(cond[:1], adapter, network, sampling,
                               EncodeContext("positive", tuple(x0.shape), runner.device, runner.dtype))
            for _ in range(draws):
                percent = float(torch.rand(1, generator=generator)) * 0.9 + 0.05
                sigma = torch.tensor([sampling.percent_to_sigma(percent)])
                noise = torch.randn(x0.shape, generator=generator)
                denoised = runner.apply_model(sampling.noise_scaling(sigma, noise, x0), sigma, **entry.tensors)
                total += float(torch.nn.functional.mse_loss(denoised, x0))
    return total / (len(latents) * draws)


@pytest.mark.parametrize(("kind", "steps", "rate", "ratio"), [("demo", 60, 0.003, 0.9), ("flux", 25, 0.01, 0.8)])
def test_training_lowers_the_objective(runtime: Runtime, kind: str, steps: int, rate: float, ratio: float) -> None:
    """Measured at fixed σ and noise draws. The SD case is the embedded demo model (a real ε-prediction
    denoiser learning rings): a random tiny UNet cannot learn to predict noise in a few steps, while a
    flow model's target includes the latent itself, which a tiny Flux memorises."""
    from inkgraph.nodes.training import LoraModelLoader

    ctx = Ctx(runtime)
    lora, loss, total = train(ctx, kind, steps=steps, learning_rate=rate, batch_size=4 if kind == "demo" else 2)
    assert total == steps and len(loss["loss"]) == steps and all(torch.isfinite(torch.tensor(loss["loss"])))
    model, latents, conds = dataset(ctx, kind)
    before = objective(model, latents, conds)
    after = objective(LoraModelLoader(model=model, lora=lora), latents, conds)
    assert after < ratio * before, (before, after)


@pytest.mark.parametrize("kind", ["sd1", "sdxl", "flux", "chroma", "sd3"])
def test_the_lora_is_written_under_the_original_layout_names(runtime: Runtime, kind: str) -> None:
    lora, _, _ = train(Ctx(runtime), kind, steps=2)
    assert all(k.startswith("lora_unet_") for k in lora)  # kohya's keys
    assert all(lora[k].dtype == torch.float32 for k in lora)
    if kind == "flux":  # Black Forest Labs' names, q, k, v (and the MLP input) fused block-diagonally
        up = lora["lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight"]
        assert up.shape == (3 * 64, 3 * 4) and float(lora["lora_unet_double_blocks_0_img_attn_qkv.alpha"]) == 3.0
        assert torch.count_nonzero(up[:64, 4:]) == 0 and torch.count_nonzero(up[64:128, :4]) == 0
        assert lora["lora_unet_single_blocks_0_linear1.lora_down.weight"].shape == (4 * 4, 64)
        assert "lora_unet_single_blocks_0_linear2.lora_up.weight" in lora
    elif kind == "chroma":  # Flux's layout without the modulations: the same names
        assert "lora_unet_double_blocks_0_txt_attn_qkv.lora_up.weight" in lora
    elif kind == "sd3":  # the family's default targets (attention), in Stability's MMDiT names
        assert any(k.startswith("lora_unet_joint_blocks_0_x_block_attn_qkv.") for k in lora)
    else:  # the UNet's original (LDM) names, as kohya's SDXL files and ComfyUI's own LoRAs
        assert any(k.startswith("lora_unet_input_blocks_") for k in lora)
        assert any(k.startswith("lora_unet_output_blocks_") for k in lora)
        assert not any("down_blocks" in k or "up_blocks" in k for k in lora)
    parsed = lora_files.parse(lora, "trained")
    assert parsed.unused == [] and len(parsed.patches["unet"]) == len(lora) // 3


@pytest.mark.parametrize("kind", ["sd1", "flux"])
def test_the_saved_lora_loaded_back_as_peft_adapters_predicts_as_the_patched_weights(runtime: Runtime,
                                                                                    kind: str) -> None:
    """The names and the fused rows are right both ways: the file split back into adapters (existing_lora's
    path) predicts what the weights patched from the file predict."""
    from inkgraph.nodes.diffusion.lora import module_index
    from inkgraph.nodes.diffusion.train import adapters
    from inkgraph.nodes.training import LoraModelLoader

    ctx = Ctx(runtime)
    lora, _, _ = train(ctx, kind, steps=4)
    model, latents, conds = dataset(ctx, kind)
    patched = objective(LoraModelLoader(model=model, lora=lora), latents, conds)
    parsed = lora_files.parse(lora, "trained")
    detected = model.family.detected
    with model.use() as network:
        names = detected.family.lora_names(detected, network) if detected is not None else None
        index = module_index(network, network.config if names is None else None, names)
        existing = adapters.existing_factors(parsed, index)
        config = adapters.make_config("LoRA", 4, r"(?!)", existing)  # only the file's modules
        with torch.inference_mode(False), adapters.attached(network, config, torch.float32,
                                                            torch.Generator().manual_seed(0), existing):
            wrapped = objective(model, latents, conds)
    assert wrapped == pytest.approx(patched, rel=1e-4)
    assert objective(model, latents, conds) != pytest.approx(patched, rel=1e-4)  # the adapters were taken off


@pytest.mark.parametrize(("kind", "algorithm"), [("sd1", "LoHa"), ("sd1", "LoKr"), ("flux", "LoHa"),
                                                 ("flux", "LoKr")])
def test_loha_and_lokr_files_patch_what_peft_trained(runtime: Runtime, kind: str, algorithm: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """LyCORIS' keys and scales, read by LoraLoader, give the network peft trained: the objective with the
    peft layers still attached (seen through the training hooks) equals the one with the file's patches."""
    from inkgraph.nodes.diffusion.train import loop
    from inkgraph.nodes.training import LoraModelLoader

    ctx = Ctx(runtime)
    model, latents, conds = dataset(ctx, kind)
    seen: list[float] = []
    original = loop._run

    def run_then_measure(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        seen.append(objective(model, latents, conds))  # the adapters are still on the network here

    monkeypatch.setattr(loop, "_run", run_then_measure)
    lora, _, _ = train(ctx, kind, steps=4, algorithm=algorithm, learning_rate=0.05)
    patched = objective(LoraModelLoader(model=model, lora=lora), latents, conds)
    assert seen[0] == pytest.approx(patched, rel=1e-4)
    assert patched != pytest.approx(objective(model, latents, conds), rel=1e-4)
    prefix = "hada_w1_a" if algorithm == "LoHa" else "lokr_w1"
    assert any(k.endswith(prefix) for k in lora) and lora_files.parse(lora, "trained").unused == []
    if kind == "flux":  # parts of fused layers keep diffusers' names; the others are BFL's
        assert any(k.startswith("lycoris_transformer_blocks_0_attn_to_q.") for k in lora)
        assert any(k.startswith("lora_unet_double_blocks_0_img_attn_proj.") for k in lora)


def test_saved_lora_reloads_through_loraloader_exactly(runtime: Runtime) -> None:
    from inkgraph.nodes.loaders import LoraLoaderModelOnly
    from inkgraph.nodes.training import LoraModelLoader, SaveLoRA
    from tests.nodes.test_lora import sample_with

    ctx = Ctx(runtime)
    lora, _, steps = train(ctx, "sd1", steps=4, lora_dtype="bf16")
    SaveLoRA(ctx, lora=lora, prefix="loras/tiny_trained", steps=steps)
    (saved,) = (runtime.folders.output / "loras").glob("tiny_trained_4_steps_00001_.safetensors")
    shutil.copy(saved, runtime.folders.models / "loras" / saved.name)
    from inkgraph.nodes.loaders import CheckpointLoaderSimple

    with torch.inference_mode():
        model, clip, _ = CheckpointLoaderSimple(ctx, ckpt_name="tiny.safetensors")
    in_graph = sample_with(ctx, LoraModelLoader(model=model, lora=lora), clip)  # type: ignore[arg-type]
    reloaded = sample_with(ctx, LoraLoaderModelOnly(ctx, model=model, lora_name=saved.name), clip)  # type: ignore[arg-type]
    base = sample_with(ctx, model, clip)  # type: ignore[arg-type]
    assert torch.equal(in_graph, reloaded)
    assert not torch.equal(in_graph, base)
    from safetensors import safe_open

    with safe_open(str(saved), "pt") as handle:
        assert handle.metadata()["ss_network_module"] == "networks.lora" and handle.metadata()["ss_steps"] == "4"
        assert all(handle.get_tensor(k).dtype == torch.bfloat16 for k in handle.keys() if not k.endswith(".alpha"))


def test_same_seed_is_identical_and_another_seed_is_not(runtime: Runtime) -> None:
    first, loss1, _ = train(Ctx(runtime), "sd1", steps=3, grad_accumulation_steps=2)
    second, loss2, _ = train(Ctx(runtime), "sd1", steps=3, grad_accumulation_steps=2)
    other, _, _ = train(Ctx(runtime), "sd1", steps=3, grad_accumulation_steps=2, seed=1)
    assert loss1 == loss2 and len(loss1["loss"]) == 6  # one loss per micro-step, as ComfyUI's loss map
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    assert any(not torch.equal(first[k], other[k]) for k in first)


def test_gradient_checkpointing_gives_the_same_lora(runtime: Runtime) -> None:
    plain, _, _ = train(Ctx(runtime), "sd1", steps=2)
    for depth in (1, 2):
        checkpointed, _, _ = train(Ctx(runtime), "sd1", steps=2, gradient_checkpointing=True, checkpoint_depth=depth)
        assert all(torch.allclose(plain[k], checkpointed[k], atol=1e-6) for k in plain)


def test_interrupted_training_keeps_a_valid_lora_of_its_last_step(runtime: Runtime) -> None:
    folder = runtime.folders.output / "loras" / "training"
    ctx = Ctx(runtime, stop_at=3)  # the fourth progress report, after the fourth step, is interrupted
    with pytest.raises(Interrupted):
        train(ctx, "sd1", steps=6)
    (kept,) = folder.glob("TrainLoraNode_4_*_steps_*.safetensors")
    assert kept.name == "TrainLoraNode_4_4_steps_testrun.safetensors"
    saved = lora_files.load(kept)  # a complete safetensors file LoraLoader reads
    assert saved.patches["unet"] and saved.unused == []
    four, _, _ = train(Ctx(runtime), "sd1", steps=4)  # the same seed, four steps: the same LoRA
    from safetensors.torch import load_file

    state = load_file(str(kept))
    assert state.keys() == four.keys() and all(torch.equal(state[k], four[k]) for k in four)
    kept.unlink()


def test_a_finished_run_removes_its_checkpoints(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from inkgraph.nodes.diffusion.train import loop

    written: list[int] = []
    monkeypatch.setattr(loop, "CHECKPOINT_EVERY_S", 0.0)  # a checkpoint after every step
    ctx = Ctx(runtime)
    ctx.node_id = "periodic"
    original = ctx.progress

    def progress(value: float, maximum: float, *args: Any, **kwargs: Any) -> None:
        written.append(len(list((runtime.folders.output / "loras" / "training").glob("TrainLoraNode_periodic_*"))))
        original(value, maximum)

    ctx.progress = progress  # type: ignore[method-assign]
    train(ctx, "sd1", steps=3)
    assert written == [1, 1, 1]  # one file at a time, replaced as the steps go
    assert not list((runtime.folders.output / "loras" / "training").glob("TrainLoraNode_periodic_*"))


def test_existing_lora_is_continued_and_its_steps_counted(runtime: Runtime) -> None:
    from inkgraph.nodes.training import SaveLoRA

    ctx = Ctx(runtime)
    first, _, steps = train(ctx, "sd1", steps=2)
    SaveLoRA(ctx, lora=first, prefix="loras/continue_me", steps=steps)
    (saved,) = (runtime.folders.output / "loras").glob("continue_me_2_steps_*.safetensors")
    shutil.copy(saved, runtime.folders.models / "loras" / saved.name)
    continued, _, total = train(ctx, "sd1", steps=1, existing_lora=saved.name, learning_rate=1e-7)
    assert total == 3
    assert continued.keys() == first.keys()
    assert all(torch.allclose(continued[k], first[k], atol=1e-5) for k in first)


def test_bucket_mode_trains_latents_of_two_sizes(runtime: Runtime) -> None:
    from inkgraph.nodes.dataset import ResolutionBucket
    from inkgraph.nodes.training import TrainLoraNode

    ctx = Ctx(runtime)
    model, latents, conds = dataset(ctx, "sd1")
    latents = latents + [{"samples": torch.randn(1, 4, 8, 16)}]
    conds = conds + [conds[0]]
    buckets, bucket_conds = ResolutionBucket(latents=latents, conditioning=conds)
    assert [b["samples"].shape[0] for b in buckets] == [2, 1]
    with torch.inference_mode():
        lora, loss, steps = TrainLoraNode(ctx, model=[model], latents=buckets, positive=bucket_conds,
                                          **{k: [v] for k, v in {**FAST, "steps": 3, "bucket_mode": True}.items()})
    assert steps == 3 and len(loss["loss"]) == 3


def test_training_reports_progress_and_refuses_what_it_cannot_train(runtime: Runtime) -> None:
    ctx = Ctx(runtime)
    train(ctx, "sd1", steps=3, grad_accumulation_steps=2)
    assert ctx.calls == 6 and ctx.texts[-1].startswith("step 6/6, loss ")
    with pytest.raises(ValueError, match="algorithm 'OFT'"):
        train(Ctx(runtime), "sd1", steps=1, algorithm="OFT")
    with pytest.raises(ValueError, match="5 conditionings"):
        from inkgraph.nodes.training import TrainLoraNode

        model, latents, conds = dataset(ctx, "sd1")
        with torch.inference_mode():
            TrainLoraNode(ctx, model=[model], latents=latents, positive=conds * 2 + conds[:1],
                          **{k: [v] for k, v in {**FAST, "steps": 1}.items()})


def test_loss_graph_draws_a_falling_curve() -> None:
    import numpy as np

    from inkgraph.nodes.training import loss_graph

    image = np.asarray(loss_graph([4.0, 3.0, 2.0, 1.0]))
    assert image.shape == (520, 840, 3)
    blue = (image[..., 2] > 200) & (image[..., 0] < 80)
    ys, xs = np.nonzero(blue)
    left, right = ys[xs < xs.min() + 20].mean(), ys[xs > xs.max() - 20].mean()
    assert left < right  # falling loss: the line starts high (small y) and ends low
    assert np.asarray(loss_graph([1.0, 1.0])).shape == (520, 840, 3)  # a flat curve draws too
