"""Conditioning hooks (issue 19): a hooked LoRA changes only the entries that carry it, strengths follow
keyframes over the sampling, strength 0 leaves sampling bit-identical, default entries fill what the others
leave, SetClipHooks encodes with the hooks' CLIP weights (scheduled or not), models as LoRAs.

References: sampling the same entry with the LoRA applied to the whole MODEL (LoraLoader), the base model
for unhooked entries, ComfyUI's keyframe rules worked by hand on a known σ schedule, and a toy network whose
predictions are known in closed form (``out = w·x_in + v``) for the default-entry weights.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes import conditioning as cn
from inkgraph.nodes import hooks as hk
from inkgraph.nodes.diffusion import model_sampling as ms
from inkgraph.nodes.diffusion.guidance import BasicGuider, CFGGuider, denoiser_for
from inkgraph.nodes.diffusion.hooks.model import Hook, HookGroup, Keyframe, Keyframes, interpolate
from inkgraph.nodes.diffusion.hooks.schedule import HookSchedule
from tests.fixtures.tiny_sd import save_single_file
from tests.fixtures.toy_diffusion import ToyAdapter, ToyNetwork, cond
from tests.nodes.test_lora import Ctx, kohya_lora

EPS = ms.discrete("epsilon")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hooks")
    models = save_single_file("sd1", root / "models" / "checkpoints" / "tiny.safetensors", seed=3)
    save_single_file("sd1", root / "models" / "checkpoints" / "other.safetensors", seed=11)
    (root / "models" / "loras").mkdir(parents=True)
    save_file(kohya_lora(models), str(root / "models" / "loras" / "style.safetensors"))
    return root


@pytest.fixture(scope="module")
def loaded(base: Path) -> tuple[Ctx, Any, Any]:
    from inkgraph.nodes.loaders import CheckpointLoaderSimple

    ctx = Ctx(Runtime.create(Settings(base_dir=base, cache="none")))
    model, clip, _ = CheckpointLoaderSimple(ctx, ckpt_name="tiny.safetensors")
    return ctx, model, clip


def encode(ctx: Ctx, clip: Any, text: str) -> list[list[Any]]:
    return cn.CLIPTextEncode(ctx, text=text, clip=clip)


def sample(ctx: Ctx, model: Any, positive: Any, negative: Any, cfg: float, steps: int = 3) -> torch.Tensor:
    from inkgraph.nodes.diffusion.ksampler import sample as ksample

    with torch.no_grad():
        out = ksample(ctx, model, 1, steps, cfg, "euler", "normal", positive, negative,  # type: ignore[arg-type]
                      {"samples": torch.zeros(1, 4, 8, 8)})
    return out["samples"]  # type: ignore[no-any-return]


def hooked(conditioning: Any, hooks: Any) -> Any:
    return hk.ConditioningSetProperties(conditioning, 1.0, set_cond_area="default", hooks=hooks)


# -- a hooked LoRA applies only to the entries carrying it --------------------------------------------------------

def predictions(model: Any, positive: Any, negative: Any) -> list[torch.Tensor]:
    """Each list's prediction at one σ, through the sampler's own batching of entries."""
    with model.use() as unet, torch.no_grad():
        d = denoiser_for(unet, EPS, CFGGuider(model, positive, negative, 5.0), (1, 4, 8, 8))
        d.sigmas = torch.tensor([7.0, 1.0, 0.0])
        x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1)) * 7.0
        try:
            return d.runner.calc_cond_batch([d.conds["positive"], d.conds["negative"]], x, torch.tensor([7.0]))
        finally:
            d.finish()


def test_hooked_lora_changes_only_the_entries_that_carry_it(loaded: tuple[Ctx, Any, Any]) -> None:
    from inkgraph.nodes.loaders import LoraLoaderModelOnly

    ctx, model, clip = loaded
    positive, negative = encode(ctx, clip, "a red circle"), encode(ctx, clip, "blurry")
    lora = hk.CreateHookLoraModelOnly(ctx, lora_name="style.safetensors", strength_model=0.8)
    whole = LoraLoaderModelOnly(ctx, model=model, lora_name="style.safetensors", strength_model=0.8)

    hooked_pos, hooked_neg = predictions(model, hooked(positive, lora), negative)
    lora_pos, _ = predictions(whole, positive, negative)
    base_pos, base_neg = predictions(model, positive, negative)
    assert torch.allclose(hooked_pos, lora_pos, atol=1e-5)  # the positive ran with the LoRA …
    assert torch.allclose(hooked_neg, base_neg, atol=1e-5)  # … the negative without it
    assert (hooked_pos - base_pos).abs().max() > 1e-3

    # a whole sampling run at cfg 1 (only the positive): exactly the LoRA'd model's, and the base comes back
    assert torch.equal(sample(ctx, model, hooked(positive, lora), negative, 1.0),
                       sample(ctx, whole, positive, negative, 1.0))
    plain = sample(ctx, model, positive, negative, 5.0)
    both = sample(ctx, model, hooked(positive, lora), negative, 5.0)
    assert (both - plain).abs().max() > 1e-4
    assert torch.equal(sample(ctx, model, positive, negative, 5.0), plain)  # the network's weights were restored


def test_strength_zero_is_bit_identical_to_no_hook(loaded: tuple[Ctx, Any, Any]) -> None:
    ctx, model, clip = loaded
    positive, negative = encode(ctx, clip, "a red circle"), encode(ctx, clip, "blurry")
    lora = hk.CreateHookLora(ctx, lora_name="style.safetensors", strength_model=1.0, strength_clip=1.0)
    silent = hk.SetHookKeyframes(lora, hook_kf=hk.CreateHookKeyframe(strength_mult=0.0, start_percent=0.0))
    pos, neg = hk.PairConditioningSetProperties(positive, negative, 1.0, set_cond_area="default", hooks=silent)
    assert pos[0][1]["hooks"] is silent and neg[0][1]["hooks"] is silent
    assert torch.equal(sample(ctx, model, pos, neg, 5.0), sample(ctx, model, positive, negative, 5.0))
    # both strengths 0: no hook at all, as ComfyUI returns the previous hooks (none: an empty group)
    empty = hk.CreateHookLora(ctx, lora_name="style.safetensors", strength_model=0.0, strength_clip=0.0)
    assert isinstance(empty, HookGroup) and len(empty) == 0
    assert hk.CreateHookLora(ctx, lora_name="style.safetensors", strength_model=0.0, strength_clip=0.0,
                             prev_hooks=lora) is lora


def test_keyframes_switch_the_hook_strength_during_sampling(loaded: tuple[Ctx, Any, Any],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Keyframes 1.0 from 0 and 0.25 from 0.5: the model strength is 0.8 while σ > σ(0.5), then 0.2; the
    weights are re-patched only when it changes."""
    from inkgraph.nodes.diffusion.hooks.sampling import HookRunner
    from inkgraph.nodes.diffusion.model_api import model_sampling_of
    from inkgraph.nodes.diffusion.schedules import sampling_sigmas

    ctx, model, clip = loaded
    positive = encode(ctx, clip, "a red circle")
    lora = hk.CreateHookLoraModelOnly(ctx, lora_name="style.safetensors", strength_model=0.8)
    frames = hk.CreateHookKeyframe(strength_mult=0.25, start_percent=0.5,
                                   prev_hook_kf=hk.CreateHookKeyframe(strength_mult=1.0, start_percent=0.0))
    scheduled = hk.SetHookKeyframes(lora, hook_kf=frames)
    per_step: list[float] = []
    patched: list[tuple[float, ...]] = []
    apply, sync = HookRunner.apply, type(model).sync_weights

    def spy_apply(self: HookRunner, hooks: Any) -> None:
        per_step.extend(s for _, s in self.strengths(hooks))
        apply(self, hooks)

    def spy_sync(self: Any, unet: Any, extra: tuple[tuple[Any, float], ...] = ()) -> None:
        patched.append(tuple(s for _, s in extra))
        sync(self, unet, extra)

    monkeypatch.setattr(HookRunner, "apply", spy_apply)
    monkeypatch.setattr(type(model), "sync_weights", spy_sync)
    sample(ctx, model, hooked(positive, scheduled), positive, 1.0, steps=6)
    sigmas = sampling_sigmas(model_sampling_of(model), "normal", "euler", 6, 1.0)
    switch = model_sampling_of(model).percent_to_sigma(0.5)
    expected = [0.8 if float(s) > switch else 0.2 for s in sigmas[:-1]]
    assert 0.8 in expected and 0.2 in expected
    assert per_step == pytest.approx(expected)
    assert patched == [(), (pytest.approx(0.8),), (pytest.approx(0.2),), ()]  # use(), two switches, restore


def test_keyframe_rules_by_hand() -> None:
    """ComfyUI's prepare_current_keyframe: the first keyframe applies from the start whatever its start;
    guarantee_steps hold a keyframe; several keyframes passed in one step land on the last one."""
    schedule = HookSchedule(EPS.percent_to_sigma, lambda: 14.6)
    late = Hook(None, keyframes=Keyframes((Keyframe(0.3, 0.5),)))
    assert schedule.strength(late) == 0.3  # a lone keyframe at 0.5 already applies at the first step
    frames = Keyframes((Keyframe(1.0, 0.0, 1), Keyframe(0.5, 0.2, 0), Keyframe(0.25, 0.4, 0),
                        Keyframe(0.0, 0.9, 0)))
    hook = Hook(None, keyframes=frames)
    group = HookGroup((hook,))
    s02, s04, s09 = (EPS.percent_to_sigma(p) for p in (0.2, 0.4, 0.9))
    seen = []
    for sigma in (14.6, (s02 + s04) / 2, s04 * 0.99, s04 * 0.98, s09 * 0.5):
        schedule.advance(group, torch.tensor([sigma]))
        seen.append(schedule.strength(hook))
    # σ 14.6: the first keyframe guarantees its step; then 0.2's start is passed; then 0.4's; 0.9 only at the end
    assert seen == [1.0, 0.5, 0.25, 0.25, 0.0]
    schedule.advance(group, torch.tensor([s09 * 0.5]))  # the same σ again: nothing moves
    assert schedule.strength(hook) == 0.0

    # a keyframe starting inside the run holds for its guarantee_steps; one starting before the run's
    # largest σ (every keyframe at 0, or a run that starts part way) guarantees none
    for top, expected in ((14.6, [1.0, 1.0, 1.0, 0.0]), (9.0, [0.0, 0.0, 0.0, 0.0])):
        held = HookSchedule(EPS.percent_to_sigma, lambda top=top: top)  # type: ignore[misc]
        guarded = Hook(None, keyframes=Keyframes((Keyframe(1.0, 0.05, 3), Keyframe(0.0, 0.1, 1))))
        strengths = []
        for sigma in (7.0, 5.0, 2.0, 1.0):  # all past σ(0.1) ≈ 8.3
            held.advance(HookGroup((guarded,)), sigma)
            strengths.append(held.strength(guarded))
        assert strengths == expected, top


def test_interpolated_and_float_keyframes() -> None:
    linear = interpolate(0.0, 1.0, 5, "linear")
    assert linear == [0.0, 0.25, 0.5, 0.75, 1.0]
    index = [0.0, 0.25, 0.5, 0.75, 1.0]
    assert interpolate(0.0, 2.0, 5, "ease_in") == pytest.approx([2 * t * t for t in index], abs=1e-6)
    assert interpolate(0.0, 2.0, 5, "ease_out") == pytest.approx([2 * (1 - (1 - t) ** 2) for t in index], abs=1e-6)
    assert interpolate(1.0, 0.0, 5, "ease_in_out") == pytest.approx(
        [1 - (1 - math.cos(t * math.pi)) / 2 for t in index], abs=1e-6)
    frames = hk.CreateHookKeyframesInterpolated(1.0, 0.0, interpolation="linear", start_percent=0.2,
                                                end_percent=0.6, keyframes_count=3)
    assert [(k.strength, round(k.start_percent, 6), k.guarantee_steps) for k in frames.keyframes] == [
        (1.0, 0.2, 1), (0.5, 0.4, 0), (0.0, 0.6, 0)]
    floats = hk.CreateHookKeyframesFromFloats([0.1, 0.2], start_percent=0.0, end_percent=1.0)
    assert [(round(k.strength, 6), k.start_percent) for k in floats.keyframes] == [(0.1, 0.0), (0.2, 1.0)]
    single = hk.CreateHookKeyframesFromFloats(0.7, start_percent=0.3, end_percent=1.0)
    assert [(k.strength, round(k.start_percent, 6)) for k in single.keyframes] == [(0.7, 0.3)]
    earlier = hk.CreateHookKeyframe(strength_mult=2.0, start_percent=0.5)
    merged = hk.CreateHookKeyframe(strength_mult=3.0, start_percent=0.1, prev_hook_kf=earlier)
    assert [k.start_percent for k in merged.keyframes] == [0.1, 0.5] and merged is not earlier


def test_clip_schedule_ranges() -> None:
    a = Hook(None, keyframes=Keyframes((Keyframe(1.0, 0.0), Keyframe(0.5, 0.4), Keyframe(0.5, 0.6),
                                        Keyframe(0.0, 0.8))))
    b = Hook(None)
    schedule = HookGroup((a, b)).clip_schedule()
    assert [r for r, _ in schedule] == [(0.0, 0.4), (0.4, 0.8), (0.8, 1.0)]
    assert [[None if f is None else f.strength for _, f in frames] for _, frames in schedule] == [
        [1.0, None], [0.5, None], [0.0, None]]


# -- properties, combining and default entries ---------------------------------------------------------------------

def test_set_properties_nodes_write_comfyui_options() -> None:
    mask = torch.ones(4, 4)
    first, second = HookGroup((Hook("a"),)), HookGroup((Hook("b"),))
    no_mask = hk.ConditioningSetProperties(cond(1.0), 0.5, set_cond_area="default", timesteps=(0.2, 0.7))
    assert no_mask[0][1] == {"start_percent": 0.2, "end_percent": 0.7}  # strength is the mask's: unset
    entries = cn.ConditioningCombine(cond(1.0, hooks=first), cond(2.0, hooks=first))
    out = hk.ConditioningSetProperties(entries, 0.5, set_cond_area="mask bounds", mask=mask, hooks=second)
    options = [o for _, o in out]
    assert options[0]["hooks"] is options[1]["hooks"]  # one combined group for the pair of groups
    assert [h.weights for h in options[0]["hooks"].hooks] == ["a", "b"]
    assert options[0]["mask"].shape == (1, 4, 4) and options[0]["set_area_to_bounds"] is True
    assert options[0]["mask_strength"] == 0.5
    combined = hk.ConditioningSetPropertiesAndCombine(cond(1.0), cond(2.0), 1.0, set_cond_area="default",
                                                      hooks=first)
    assert len(combined) == 2 and "hooks" not in combined[0][1] and combined[1][1]["hooks"] is first
    positive, negative = hk.PairConditioningCombine(cond(1.0), cond(2.0), cond(3.0), cond(4.0))
    assert [float(e[0][0, 0, 0]) for e in positive] == [1.0, 3.0]
    assert [float(e[0][0, 0, 0]) for e in negative] == [2.0, 4.0]
    assert hk.ConditioningTimestepsRange(0.25, 0.75) == ((0.25, 0.75), (0.0, 0.25), (0.75, 1.0))
    both = hk.CombineHooks4(hooks_A=first, hooks_C=second, hooks_D=first)
    assert [h.weights for h in both.hooks] == ["a", "b"]
    assert hk.CombineHooks2() is None and hk.CombineHooks2(hooks_B=first) is first


def predicted(x: torch.Tensor, sigma: float, value: float) -> torch.Tensor:
    return x - (0.5 * x / math.sqrt(sigma ** 2 + 1) + value) * sigma


def test_default_entries_fill_what_the_others_leave() -> None:
    mask = torch.zeros(1, 4, 4)
    mask[..., :2] = 1.0
    mask[..., 2] = 0.25
    positive = hk.ConditioningSetProperties(cond(3.0), 1.0, set_cond_area="default", mask=mask)
    negative = cond(5.0)
    pos, neg = hk.PairConditioningSetDefaultCombine(positive, negative, cond(1.0), cond(7.0))
    assert pos[1][1] == {"default": True} and neg[1][1] == {"default": True}
    d = denoiser_for(ToyNetwork(0.5), EPS, CFGGuider(None, pos, neg, 1.0), (1, 1, 4, 4), ToyAdapter())
    x, sigma = torch.randn(1, 1, 4, 4, generator=torch.Generator().manual_seed(0)), 2.0
    cond_out, uncond_out = d.runner.calc_cond_batch([d.conds["positive"], d.conds["negative"]], x,
                                                    torch.tensor([sigma]))
    p3, p1 = predicted(x, sigma, 3.0), predicted(x, sigma, 1.0)
    assert torch.allclose(cond_out[..., :2], p3[..., :2], atol=1e-5)  # the mask covers it: no default
    assert torch.allclose(cond_out[..., 2], (0.25 * p3 + 0.75 * p1)[..., 2], atol=1e-5)
    assert torch.allclose(cond_out[..., 3], p1[..., 3], atol=1e-5)  # nothing else there: the default alone
    assert torch.allclose(uncond_out, predicted(x, sigma, 5.0), atol=1e-5)  # covered everywhere: default unused
    calls = d.runner.calls
    d.runner.calc_cond_batch([d.conds["negative"]], x, torch.tensor([sigma]))
    assert d.runner.calls == calls + 1  # the negative's default never runs

    alone = hk.ConditioningSetDefaultCombine(cond(2.0, start_percent=0.5, end_percent=1.0), cond(9.0))
    early = denoiser_for(ToyNetwork(0.5), EPS, BasicGuider(None, alone), (1, 1, 4, 4), ToyAdapter())
    assert torch.allclose(early(x, torch.tensor(10.0)), predicted(x, 10.0, 9.0), atol=1e-5)  # before the range
    assert torch.allclose(early(x, torch.tensor(0.1)), predicted(x, 0.1, 2.0), atol=1e-5)


def test_clip_ranges_bound_an_entry_in_sampling() -> None:
    late = cond(2.0, clip_start_percent=0.5, clip_end_percent=1.0, start_percent=0.0, end_percent=0.9)
    d = denoiser_for(ToyNetwork(0.5), EPS, BasicGuider(None, cn.ConditioningCombine(late, cond(1.0))),
                     (1, 1, 4, 4), ToyAdapter())
    x = torch.randn(1, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    entry = d.conds["positive"][0]
    assert entry.sigma_start == EPS.percent_to_sigma(0.5) and entry.sigma_end == EPS.percent_to_sigma(0.9)
    assert torch.allclose(d(x, torch.tensor(10.0)), predicted(x, 10.0, 1.0), atol=1e-5)


# -- CLIP hooks -------------------------------------------------------------------------------------------------

def test_set_clip_hooks_encodes_with_the_hooks_clip_weights(loaded: tuple[Ctx, Any, Any]) -> None:
    from inkgraph.nodes.loaders import LoraLoader

    ctx, model, clip = loaded
    lora = hk.CreateHookLora(ctx, lora_name="style.safetensors", strength_model=1.0, strength_clip=0.6)
    hooked_clip = hk.SetClipHooks(clip, apply_to_conds=True, schedule_clip=False, hooks=lora)
    out = encode(ctx, hooked_clip, "a red circle")
    _, lora_clip = LoraLoader(ctx, model=model, clip=clip, lora_name="style.safetensors", strength_model=1.0,
                              strength_clip=0.6)
    assert torch.equal(out[0][0], encode(ctx, lora_clip, "a red circle")[0][0])
    assert out[0][1]["hooks"] is lora
    plain = encode(ctx, clip, "a red circle")
    assert (out[0][0] - plain[0][0]).abs().max() > 1e-6 and "hooks" not in plain[0][1]
    quiet = hk.SetClipHooks(clip, apply_to_conds=False, schedule_clip=False, hooks=lora)
    assert "hooks" not in encode(ctx, quiet, "a red circle")[0][1]
    assert hk.SetClipHooks(clip, apply_to_conds=True, schedule_clip=False) is clip

    # keyframes are ignored without schedule_clip; with it, one entry per range at that range's strength
    frames = hk.CreateHookKeyframe(strength_mult=0.5, start_percent=0.5,
                                   prev_hook_kf=hk.CreateHookKeyframe(strength_mult=1.0, start_percent=0.0))
    scheduled = hk.SetHookKeyframes(lora, hook_kf=frames)
    unscheduled = encode(ctx, hk.SetClipHooks(clip, apply_to_conds=True, schedule_clip=False, hooks=scheduled),
                         "a red circle")
    assert torch.equal(unscheduled[0][0], out[0][0])
    entries = encode(ctx, hk.SetClipHooks(clip, apply_to_conds=True, schedule_clip=True, hooks=scheduled),
                     "a red circle")
    assert [(o["clip_start_percent"], o["clip_end_percent"]) for _, o in entries] == [(0.0, 0.5), (0.5, 1.0)]
    half = LoraLoader(ctx, model=model, clip=clip, lora_name="style.safetensors", strength_model=1.0,
                      strength_clip=0.3)[1]
    assert torch.equal(entries[0][0], out[0][0]) and torch.equal(entries[1][0], encode(ctx, half, "a red circle")[0][0])
    assert entries[0][1]["hooks"] is scheduled
    assert torch.equal(encode(ctx, clip, "a red circle")[0][0], plain[0][0])  # the encoder's weights came back


def test_model_as_lora_moves_the_model_to_the_other_checkpoint(loaded: tuple[Ctx, Any, Any]) -> None:
    from inkgraph.nodes.loaders import CheckpointLoaderSimple

    ctx, model, clip = loaded
    other, other_clip, _ = CheckpointLoaderSimple(ctx, ckpt_name="other.safetensors")
    positive = encode(ctx, clip, "a red circle")
    full = hk.CreateHookModelAsLoraModelOnly(ctx, ckpt_name="other.safetensors", strength_model=1.0)
    ours = sample(ctx, model, hooked(positive, full), positive, 1.0)
    theirs = sample(ctx, other, positive, positive, 1.0)
    assert torch.allclose(ours, theirs, atol=1e-4)  # base + 1·(other − base): the other model, biases too
    assert (sample(ctx, model, positive, positive, 1.0) - theirs).abs().max() > 1e-3
    clip_hooks = hk.CreateHookModelAsLora(ctx, ckpt_name="other.safetensors", strength_model=0.0, strength_clip=1.0)
    moved = encode(ctx, hk.SetClipHooks(clip, apply_to_conds=False, schedule_clip=False, hooks=clip_hooks),
                   "a red circle")
    assert torch.allclose(moved[0][0], encode(ctx, other_clip, "a red circle")[0][0], atol=1e-4)
