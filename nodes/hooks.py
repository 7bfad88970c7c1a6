"""ComfyUI's conditioning hook nodes (``comfy_extras/nodes_hooks.py``): LoRAs that apply only to the
conditioning entries carrying them, scheduled over the sampling by keyframes, and the nodes that set an
entry's strength, mask, timestep range and hooks, alone or in positive/negative pairs.

The values: HOOKS is a ``hooks.model.HookGroup``, HOOK_KEYFRAMES a ``hooks.model.Keyframes``,
TIMESTEPS_RANGE a (start_percent, end_percent) tuple. How sampling honours them: ``diffusion/hooks/``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from inkgraph.engine import Clip, Combo, Conditioning, Context, Float, Int, Output, Socket, node
from inkgraph.engine.core.paths import ModelFiles

from .diffusion.hooks.model import INTERPOLATIONS, ClipHooks, Hook, HookGroup, Keyframe, Keyframes, interpolate

log = logging.getLogger(__name__)

HOOKS = Annotated[Any, Socket(type="HOOKS")]
OptionalHooks = Annotated[Any, Socket(type="HOOKS")]
KEYFRAMES_OUT = Annotated[Any, Socket(type="HOOK_KEYFRAMES"), Output("HOOK_KF")]
OptionalKeyframes = Annotated[Any, Socket(type="HOOK_KEYFRAMES")]
OptionalMask = Annotated[Any, Socket(type="MASK")]
OptionalRange = Annotated[Any, Socket(type="TIMESTEPS_RANGE")]
HookStrength = Annotated[float, Float(min=-20.0, max=20.0, step=0.01)]
Strength = Annotated[float, Float(min=0.0, max=10.0, step=0.01)]
Percent = Annotated[float, Float(min=0.0, max=1.0, step=0.001)]
CondArea = Literal["default", "mask bounds"]
POSITIVE = Annotated[list[Any], Socket(type="CONDITIONING"), Output("positive")]
NEGATIVE = Annotated[list[Any], Socket(type="CONDITIONING"), Output("negative")]
PAIR = tuple[POSITIVE, NEGATIVE]

_loras = ModelFiles("loras")
_checkpoints = ModelFiles("checkpoints")


# -- setting properties on entries (ComfyUI's comfy.hooks.set_conds_props …) ---------------------------------

def _with_hooks(conditioning: Conditioning, hooks: HookGroup | None, cache: dict[tuple[int, int], HookGroup]
                ) -> Conditioning:
    """Each entry carries ``hooks`` too: an entry that has hooks gets both groups (one combined group per
    pair of groups, shared by the entries that have the same pair)."""
    if hooks is None:
        return conditioning
    out = []
    for embedding, options in conditioning:
        options = dict(options)
        existing = options.get("hooks")
        if existing is None:
            options["hooks"] = hooks
        else:
            key = (id(existing), id(hooks))
            if key not in cache:
                cache[key] = existing.combined(hooks)
            options["hooks"] = cache[key]
        out.append([embedding, options])
    return out


def _with(conditioning: Conditioning, **values: Any) -> Conditioning:
    return [[embedding, {**options, **values}] for embedding, options in conditioning]


def _set_props(conditioning: Conditioning, strength: float, set_cond_area: str, mask: Any, hooks: HookGroup | None,
               timesteps: tuple[float, float] | None, cache: dict[tuple[int, int], HookGroup]) -> Conditioning:
    """Hooks, then the mask (``strength`` is the mask's: without a mask it sets nothing), then the range."""
    conditioning = _with_hooks(conditioning, hooks, cache)
    if mask is not None:
        if len(mask.shape) < 3:
            mask = mask.unsqueeze(0)
        conditioning = _with(conditioning, mask=mask, set_area_to_bounds=set_cond_area != "default",
                             mask_strength=strength)
    if timesteps is not None:
        conditioning = _with(conditioning, start_percent=timesteps[0], end_percent=timesteps[1])
    return conditioning


def set_props(conds: list[Conditioning], strength: float, set_cond_area: str, mask: Any = None,
              hooks: HookGroup | None = None, timesteps: tuple[float, float] | None = None) -> list[Conditioning]:
    cache: dict[tuple[int, int], HookGroup] = {}
    return [_set_props(c, strength, set_cond_area, mask, hooks, timesteps, cache) for c in conds]


def set_props_and_combine(conds: list[Conditioning], new: list[Conditioning], strength: float = 1.0,
                          set_cond_area: str = "default", mask: Any = None, hooks: HookGroup | None = None,
                          timesteps: tuple[float, float] | None = None) -> list[Conditioning]:
    cache: dict[tuple[int, int], HookGroup] = {}
    return [list(c) + _set_props(n, strength, set_cond_area, mask, hooks, timesteps, cache)
            for c, n in zip(conds, new, strict=False)]


def set_default_and_combine(conds: list[Conditioning], new: list[Conditioning],
                            hooks: HookGroup | None = None) -> list[Conditioning]:
    """The new entries marked ``default``: they apply where the other entries of their side leave room."""
    cache: dict[tuple[int, int], HookGroup] = {}
    return [list(c) + _with(_with_hooks(n, hooks, cache), default=True) for c, n in zip(conds, new, strict=False)]


# -- attaching properties ----------------------------------------------------------------------------------

@node(display_name="Cond Set Props", category="advanced/hooks/cond single", experimental=True)
def ConditioningSetProperties(cond_NEW: Conditioning, strength: Strength = 1.0, *, set_cond_area: CondArea,  # noqa: N803
                              mask: OptionalMask = None, hooks: OptionalHooks = None,
                              timesteps: OptionalRange = None) -> Conditioning:
    """Sets the entries' hooks, mask (with ``strength`` as its strength) and timestep range."""
    return set_props([cond_NEW], strength, set_cond_area, mask, hooks, timesteps)[0]


@node(display_name="Cond Set Props Combine", category="advanced/hooks/cond single", experimental=True)
def ConditioningSetPropertiesAndCombine(cond: Conditioning, cond_NEW: Conditioning, strength: Strength = 1.0,  # noqa: N803
                                        *, set_cond_area: CondArea, mask: OptionalMask = None,
                                        hooks: OptionalHooks = None, timesteps: OptionalRange = None
                                        ) -> Conditioning:
    """Sets cond_NEW's properties, then appends its entries to cond."""
    return set_props_and_combine([cond], [cond_NEW], strength, set_cond_area, mask, hooks, timesteps)[0]


@node(display_name="Cond Pair Set Props", category="advanced/hooks/cond pair", experimental=True)
def PairConditioningSetProperties(positive_NEW: Conditioning, negative_NEW: Conditioning,  # noqa: N803
                                  strength: Strength = 1.0, *, set_cond_area: CondArea, mask: OptionalMask = None,
                                  hooks: OptionalHooks = None, timesteps: OptionalRange = None) -> PAIR:
    """Sets the same hooks, mask and timestep range on a positive and a negative conditioning."""
    positive, negative = set_props([positive_NEW, negative_NEW], strength, set_cond_area, mask, hooks, timesteps)
    return positive, negative


@node(display_name="Cond Pair Set Props Combine", category="advanced/hooks/cond pair", experimental=True)
def PairConditioningSetPropertiesAndCombine(positive: Conditioning, negative: Conditioning,
                                            positive_NEW: Conditioning, negative_NEW: Conditioning,  # noqa: N803
                                            strength: Strength = 1.0, *, set_cond_area: CondArea,
                                            mask: OptionalMask = None, hooks: OptionalHooks = None,
                                            timesteps: OptionalRange = None) -> PAIR:
    """Sets the new pair's properties, then appends each to its side of the first pair."""
    out_positive, out_negative = set_props_and_combine([positive, negative], [positive_NEW, negative_NEW], strength,
                                                       set_cond_area, mask, hooks, timesteps)
    return out_positive, out_negative


@node(display_name="Cond Set Default Combine", category="advanced/hooks/cond single", experimental=True)
def ConditioningSetDefaultCombine(cond: Conditioning, cond_DEFAULT: Conditioning,  # noqa: N803
                                  hooks: OptionalHooks = None) -> Conditioning:
    """Appends cond_DEFAULT as a default: it applies only where cond's entries leave room (their masks)."""
    return set_default_and_combine([cond], [cond_DEFAULT], hooks)[0]


@node(display_name="Cond Pair Set Default Combine", category="advanced/hooks/cond pair", experimental=True)
def PairConditioningSetDefaultCombine(positive: Conditioning, negative: Conditioning,
                                      positive_DEFAULT: Conditioning, negative_DEFAULT: Conditioning,  # noqa: N803
                                      hooks: OptionalHooks = None) -> PAIR:
    """Appends a default pair: each applies only where the entries of its side leave room."""
    out_positive, out_negative = set_default_and_combine([positive, negative], [positive_DEFAULT, negative_DEFAULT],
                                                         hooks)
    return out_positive, out_negative


@node(display_name="Cond Pair Combine", category="advanced/hooks/cond pair", experimental=True)
def PairConditioningCombine(positive_A: Conditioning, negative_A: Conditioning,  # noqa: N803
                            positive_B: Conditioning, negative_B: Conditioning) -> PAIR:  # noqa: N803
    """Both pairs guide the sampler: positives and negatives are combined side by side."""
    out_positive, out_negative = set_props_and_combine([positive_A, negative_A], [positive_B, negative_B])
    return out_positive, out_negative


@node(display_name="Set CLIP Hooks", category="advanced/hooks/clip", experimental=True)
def SetClipHooks(clip: Clip, apply_to_conds: bool = True, schedule_clip: bool = False,
                 hooks: OptionalHooks = None) -> Clip:
    """The hooks' CLIP weights apply when this CLIP encodes; with apply_to_conds what it encodes carries
    the hooks (so their model weights apply while sampling it); with schedule_clip the prompt is encoded
    once per range of the hooks' keyframes, each entry applying over its range."""
    if hooks is None:
        return clip
    from dataclasses import replace

    previous = getattr(clip, "hooks", None)
    for_conds = hooks if apply_to_conds else (previous.for_conds if previous is not None else None)
    forced = hooks if schedule_clip else hooks.with_keyframes(None)
    return replace(clip, hooks=ClipHooks(forced, schedule_clip, for_conds))


@node(display_name="Timesteps Range", category="advanced/hooks", experimental=True)
def ConditioningTimestepsRange(start_percent: Percent = 0.0, end_percent: Percent = 1.0
                               ) -> tuple[Annotated[Any, Socket(type="TIMESTEPS_RANGE"), Output("TIMESTEPS_RANGE")],
                                          Annotated[Any, Socket(type="TIMESTEPS_RANGE"), Output("BEFORE_RANGE")],
                                          Annotated[Any, Socket(type="TIMESTEPS_RANGE"), Output("AFTER_RANGE")]]:
    """A range of the sampling, and the ranges before and after it."""
    return (start_percent, end_percent), (0.0, start_percent), (end_percent, 1.0)


# -- creating hooks -------------------------------------------------------------------------------------------

def _added(prev_hooks: HookGroup | None, hook: Hook) -> HookGroup:
    return (prev_hooks if prev_hooks is not None else HookGroup()).combined(HookGroup((hook,)))


@node(display_name="Create Hook LoRA", category="advanced/hooks/create", experimental=True)
def CreateHookLora(ctx: Context, lora_name: Annotated[str, Combo(options=_loras)], strength_model: HookStrength = 1.0,
                   strength_clip: HookStrength = 1.0, prev_hooks: OptionalHooks = None) -> HOOKS:
    """A hook applying a LoRA to the model (and CLIP) only for the conditioning that carries it."""
    if strength_model == 0 and strength_clip == 0:
        return prev_hooks if prev_hooks is not None else HookGroup()
    from .loaders import _lora_file

    _, weights = _lora_file(ctx, lora_name)
    return _added(prev_hooks, Hook(weights, strength_model, strength_clip, name=lora_name))


@node(display_name="Create Hook LoRA (MO)", category="advanced/hooks/create", experimental=True)
def CreateHookLoraModelOnly(ctx: Context, lora_name: Annotated[str, Combo(options=_loras)],
                            strength_model: HookStrength = 1.0, prev_hooks: OptionalHooks = None) -> HOOKS:
    """A hook applying a LoRA to the model only, for the conditioning that carries it."""
    return CreateHookLora(ctx, lora_name=lora_name, strength_model=strength_model, strength_clip=0.0,
                          prev_hooks=prev_hooks)


_MODEL_AS_LORA: dict[tuple[Any, ...], Any] = {}


def _model_weights(ctx: Context, ckpt_name: str) -> Any:
    """Another checkpoint's weights as a LoRA file of ``lora.DiffPatch`` patches (diffusion model and text
    encoders), kept for the next use as ComfyUI's node keeps them."""
    import torch

    from .diffusion.lora import DiffPatch, LoraFile
    from .loaders import load_handles

    path = ctx.folders.model_path("checkpoints", ckpt_name)
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _MODEL_AS_LORA:
        model, clip, _ = load_handles(ctx, path)
        patches: dict[str, dict[str, Any]] = {}
        modules = [("unet", ctx.models.get(model.key, lambda: None))]
        if clip is not None:
            targets = clip.lora_targets() if hasattr(clip, "lora_targets") else []
            modules += [(target, ctx.models.get(k, lambda: None))
                        for target, k in zip(targets, clip.keys, strict=False)]
        for kind, module in modules:
            if module is None:
                continue
            found = patches.setdefault(kind, {})
            for name, sub in module.named_modules():
                weight = getattr(sub, "weight", None)
                if name and isinstance(weight, torch.Tensor):
                    bias = getattr(sub, "bias", None)
                    found[name.replace(".", "_")] = DiffPatch(weight, bias if bias is not None else None)
        _MODEL_AS_LORA.clear()  # one checkpoint kept, as ComfyUI's node keeps its last
        _MODEL_AS_LORA[key] = LoraFile(ckpt_name, patches)
    return _MODEL_AS_LORA[key]


@node(display_name="Create Hook Model as LoRA", category="advanced/hooks/create", experimental=True)
def CreateHookModelAsLora(ctx: Context, ckpt_name: Annotated[str, Combo(options=_checkpoints)],
                          strength_model: HookStrength = 1.0, strength_clip: HookStrength = 1.0,
                          prev_hooks: OptionalHooks = None) -> HOOKS:
    """A hook moving the model (and CLIP) towards another checkpoint's weights — strength × (theirs −
    ours) — only for the conditioning that carries it."""
    weights = _model_weights(ctx, ckpt_name)
    return _added(prev_hooks, Hook(weights, strength_model, strength_clip, name=ckpt_name))


@node(display_name="Create Hook Model as LoRA (MO)", category="advanced/hooks/create", experimental=True)
def CreateHookModelAsLoraModelOnly(ctx: Context, ckpt_name: Annotated[str, Combo(options=_checkpoints)],
                                   strength_model: HookStrength = 1.0, prev_hooks: OptionalHooks = None) -> HOOKS:
    """Another checkpoint's diffusion model as a hook, for the conditioning that carries it."""
    return CreateHookModelAsLora(ctx, ckpt_name=ckpt_name, strength_model=strength_model, strength_clip=0.0,
                                 prev_hooks=prev_hooks)


# -- scheduling ------------------------------------------------------------------------------------------------

@node(display_name="Set Hook Keyframes", category="advanced/hooks/scheduling", experimental=True)
def SetHookKeyframes(hooks: HOOKS, hook_kf: OptionalKeyframes = None) -> HOOKS:
    """Schedules the hooks' strength by the keyframes (all of them sharing one schedule)."""
    return hooks.with_keyframes(hook_kf) if hook_kf is not None else hooks


@node(display_name="Create Hook Keyframe", category="advanced/hooks/scheduling", experimental=True)
def CreateHookKeyframe(strength_mult: HookStrength = 1.0, start_percent: Percent = 0.0,
                       prev_hook_kf: OptionalKeyframes = None) -> KEYFRAMES_OUT:
    """From start_percent of the sampling on, hooks run at strength_mult times their strength."""
    previous = prev_hook_kf if prev_hook_kf is not None else Keyframes()
    return previous.add(Keyframe(strength_mult, float(start_percent)))


def _keyframes(previous: Keyframes | None, percents: Iterable[float], strengths: Iterable[float],
               print_keyframes: bool) -> Keyframes:
    out = previous if previous is not None else Keyframes()
    for n, (percent, strength) in enumerate(zip(percents, strengths, strict=False)):
        out = out.add(Keyframe(strength, percent, guarantee_steps=1 if n == 0 else 0))
        if print_keyframes:
            log.info("Hook Keyframe - start_percent:%s = %s", percent, strength)
    return out


@node(display_name="Create Hook Keyframes Interp.", category="advanced/hooks/scheduling", experimental=True)
def CreateHookKeyframesInterpolated(
        strength_start: Annotated[float, Float(min=0.0, max=10.0, step=0.001)] = 1.0,
        strength_end: Annotated[float, Float(min=0.0, max=10.0, step=0.001)] = 1.0, *,
        interpolation: Annotated[str, Combo(options=INTERPOLATIONS)],
        start_percent: Percent = 0.0, end_percent: Percent = 1.0,
        keyframes_count: Annotated[int, Int(min=2, max=100, step=1)] = 5, print_keyframes: bool = False,
        prev_hook_kf: OptionalKeyframes = None) -> KEYFRAMES_OUT:
    """keyframes_count keyframes spread evenly from start_percent to end_percent, their strengths going from
    strength_start to strength_end along the interpolation."""
    percents = interpolate(start_percent, end_percent, keyframes_count, "linear")
    strengths = interpolate(strength_start, strength_end, keyframes_count, interpolation)
    return _keyframes(prev_hook_kf, percents, strengths, print_keyframes)


@node(display_name="Create Hook Keyframes From Floats", category="advanced/hooks/scheduling", experimental=True)
def CreateHookKeyframesFromFloats(
        floats_strength: Annotated[Any, Socket(type="FLOATS", force_input=True,
                                               extra={"default": -1, "min": -1, "step": 0.001})],
        start_percent: Percent = 0.0, end_percent: Percent = 1.0, print_keyframes: bool = False,
        prev_hook_kf: OptionalKeyframes = None) -> KEYFRAMES_OUT:
    """One keyframe per float, spread evenly from start_percent to end_percent."""
    if isinstance(floats_strength, int | float):
        floats_strength = [float(floats_strength)]
    elif not isinstance(floats_strength, Iterable):
        raise TypeError(f"CreateHookKeyframesFromFloats: floats_strength must be a float or a list of floats, "
                        f"not {type(floats_strength).__name__}")
    strengths = [float(v) for v in floats_strength]
    percents = interpolate(start_percent, end_percent, len(strengths), "linear")
    return _keyframes(prev_hook_kf, percents, strengths, print_keyframes)


# -- combining -------------------------------------------------------------------------------------------------

@node(display_name="Combine Hooks [2]", category="advanced/hooks/combine", experimental=True)
def CombineHooks2(hooks_A: OptionalHooks = None, hooks_B: OptionalHooks = None) -> HOOKS:  # noqa: N803
    """One group of the given hooks (in order, none twice)."""
    return HookGroup.combine_all([hooks_A, hooks_B])


@node(display_name="Combine Hooks [4]", category="advanced/hooks/combine", experimental=True)
def CombineHooks4(hooks_A: OptionalHooks = None, hooks_B: OptionalHooks = None,  # noqa: N803
                  hooks_C: OptionalHooks = None, hooks_D: OptionalHooks = None) -> HOOKS:  # noqa: N803
    """One group of the given hooks (in order, none twice)."""
    return HookGroup.combine_all([hooks_A, hooks_B, hooks_C, hooks_D])


@node(display_name="Combine Hooks [8]", category="advanced/hooks/combine", experimental=True)
def CombineHooks8(hooks_A: OptionalHooks = None, hooks_B: OptionalHooks = None,  # noqa: N803
                  hooks_C: OptionalHooks = None, hooks_D: OptionalHooks = None,  # noqa: N803
                  hooks_E: OptionalHooks = None, hooks_F: OptionalHooks = None,  # noqa: N803
                  hooks_G: OptionalHooks = None, hooks_H: OptionalHooks = None) -> HOOKS:  # noqa: N803
    """One group of the given hooks (in order, none twice)."""
    return HookGroup.combine_all([hooks_A, hooks_B, hooks_C, hooks_D, hooks_E, hooks_F, hooks_G, hooks_H])


NODES = [CreateHookLora, CreateHookLoraModelOnly, CreateHookModelAsLora, CreateHookModelAsLoraModelOnly,
         SetHookKeyframes, CreateHookKeyframe, CreateHookKeyframesInterpolated, CreateHookKeyframesFromFloats,
         CombineHooks2, CombineHooks4, CombineHooks8, ConditioningSetProperties, ConditioningSetPropertiesAndCombine,
         PairConditioningSetProperties, PairConditioningSetPropertiesAndCombine, ConditioningSetDefaultCombine,
         PairConditioningSetDefaultCombine, PairConditioningCombine, SetClipHooks, ConditioningTimestepsRange]
