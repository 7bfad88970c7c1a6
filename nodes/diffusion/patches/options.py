"""ComfyUI's ``model_options`` as immutable data on a MODEL handle, and its wrapper executor.

A MODEL value (``handles.ModelHandle``) carries a :class:`ModelOptions`: the same keys and nesting as the
``model_options`` dict of ComfyUI's ``ModelPatcher``, frozen. Patch nodes derive a new handle with one more
entry (``handle.with_options(model.model_options.with_post_cfg_function(fn))``); the handle they started
from is untouched, so two branches of a graph never see each other's patches.

Keys, as ComfyUI names and shapes them::

    sampler_cfg_function            fn(args) -> x − cfg result      replaces uncond + (cond − uncond)·scale
    sampler_pre_cfg_function        [fn(args) -> conds_out]          run on the predictions before CFG
    sampler_post_cfg_function       [fn(args) -> denoised]           run on the CFG result
    sampler_calc_cond_batch_function fn(args) -> [predictions]       replaces the batched network calls
    disable_cfg1_optimization       bool                             run the negative even at cfg 1
    model_function_wrapper          fn(apply_model, {"input", "timestep", "c", "cond_or_uncond"}) -> denoised
    denoise_mask_function           fn(sigma, denoise_mask, extra_options) -> denoise_mask
    transformer_options:
        patches:         {"attn1_patch": [fn], "attn2_patch", "attn1_output_patch", "attn2_output_patch",
                          "input_block_patch", "input_block_patch_after_skip", "output_block_patch",
                          "middle_block_patch", …}
        patches_replace: {"attn1": {(block_name, number[, transformer_index]): fn}, "attn2": {…}}
        wrappers:        {wrapper_type: {key: [fn]}}   (``WrappersMP`` names)
        any other key:   passed to every network call's transformer_options (EasyCache's state …)

:meth:`ModelOptions.as_dict` gives a fresh mutable dict of exactly that shape (what hooks receive as
``args["model_options"]`` and what a ``ModelPatcher`` facade exposes); :meth:`ModelOptions.from_dict` freezes
one. The ``with_*`` methods are ComfyUI's ``ModelPatcher.set_model_*`` setters, returning a new value:

=========================================== ====================================================
ComfyUI ``ModelPatcher``                    ``ModelOptions``
=========================================== ====================================================
``set_model_sampler_cfg_function``          ``with_cfg_function``
``set_model_sampler_pre_cfg_function``      ``with_pre_cfg_function``
``set_model_sampler_post_cfg_function``     ``with_post_cfg_function``
``set_model_unet_function_wrapper``         ``with_option("model_function_wrapper", fn)``
``set_model_denoise_mask_function``         ``with_option("denoise_mask_function", fn)``
``set_model_patch`` (``attn1_patch`` …)     ``with_patch(name, fn)``
``set_model_patch_replace`` (``attn1`` …)   ``with_patch_replace(name, block_name, number, fn, index)``
``add_wrapper_with_key``                    ``with_wrapper(wrapper_type, key, fn)``
``model_options["transformer_options"][k]`` ``with_transformer_option(k, value)``
=========================================== ====================================================

Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

CFG_FUNCTION = "sampler_cfg_function"
PRE_CFG = "sampler_pre_cfg_function"
POST_CFG = "sampler_post_cfg_function"
CALC_COND_BATCH_FUNCTION = "sampler_calc_cond_batch_function"
DISABLE_CFG1 = "disable_cfg1_optimization"
MODEL_FUNCTION_WRAPPER = "model_function_wrapper"
DENOISE_MASK_FUNCTION = "denoise_mask_function"
TRANSFORMER_OPTIONS = "transformer_options"


class WrappersMP:
    """ComfyUI's wrapper points (``comfy.patcher_extension.WrappersMP``); the ones Inkgraph calls are marked.

    OUTER_SAMPLE (ksampler.run_sampler: one sampling run), PREDICT_NOISE (guidance.Denoiser: one denoiser
    call), CALC_COND_BATCH (guidance.ModelRunner.calc_cond_batch), DIFFUSION_MODEL (one network call).
    """

    OUTER_SAMPLE = "outer_sample"
    PREPARE_SAMPLING = "prepare_sampling"  # not called by Inkgraph
    SAMPLER_SAMPLE = "sampler_sample"  # not called by Inkgraph
    PREDICT_NOISE = "predict_noise"
    CALC_COND_BATCH = "calc_cond_batch"
    APPLY_MODEL = "apply_model"  # not called by Inkgraph
    DIFFUSION_MODEL = "diffusion_model"


class _FrozenList(tuple):  # type: ignore[type-arg]
    """A list inside frozen model options (a plain tuple value stays a tuple when thawed)."""

    __slots__ = ()


def _freeze(value: Any) -> Any:
    if isinstance(value, dict | MappingProxyType):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return _FrozenList(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, MappingProxyType):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, _FrozenList):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True, eq=False)
class ModelOptions:
    """ComfyUI's ``model_options``, frozen (see the module docstring for the keys)."""

    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_dict(cls, options: Mapping[str, Any]) -> ModelOptions:
        return cls(_freeze(dict(options)))

    def as_dict(self) -> dict[str, Any]:
        """A fresh, mutable ``model_options`` dict (containers copied, functions and values shared)."""
        out: dict[str, Any] = _thaw(self.data)
        out.setdefault(TRANSFORMER_OPTIONS, {})
        return out

    def get(self, key: str, default: Any = None) -> Any:
        return _thaw(self.data.get(key, default))

    def __bool__(self) -> bool:
        return bool(self.data)

    def _edit(self, edit: Callable[[dict[str, Any]], object]) -> ModelOptions:
        options = self.as_dict()
        edit(options)
        return ModelOptions.from_dict(options)

    # -- ComfyUI's setters, returning a new value ---------------------------------------------------------

    def with_option(self, key: str, value: Any) -> ModelOptions:
        """A top-level entry (``model_function_wrapper``, ``denoise_mask_function`` …)."""
        return self._edit(lambda o: o.__setitem__(key, value))

    def with_cfg_function(self, fn: Callable[[dict[str, Any]], Any],
                          disable_cfg1_optimization: bool = False) -> ModelOptions:
        return self._edit(lambda o: _set_cfg(o, CFG_FUNCTION, fn, disable_cfg1_optimization, append=False))

    def with_pre_cfg_function(self, fn: Callable[[dict[str, Any]], Any],
                              disable_cfg1_optimization: bool = False) -> ModelOptions:
        return self._edit(lambda o: _set_cfg(o, PRE_CFG, fn, disable_cfg1_optimization, append=True))

    def with_post_cfg_function(self, fn: Callable[[dict[str, Any]], Any],
                               disable_cfg1_optimization: bool = False) -> ModelOptions:
        return self._edit(lambda o: _set_cfg(o, POST_CFG, fn, disable_cfg1_optimization, append=True))

    def with_patch(self, name: str, fn: Callable[..., Any]) -> ModelOptions:
        """Append to ``transformer_options["patches"][name]`` (``attn1_patch``, ``output_block_patch`` …)."""
        def edit(o: dict[str, Any]) -> None:
            patches = o[TRANSFORMER_OPTIONS].setdefault("patches", {})
            patches[name] = [*patches.get(name, []), fn]

        return self._edit(edit)

    def with_patch_replace(self, name: str, block_name: str, number: int, fn: Callable[..., Any],
                           transformer_index: int | None = None) -> ModelOptions:
        """``transformer_options["patches_replace"][name][(block_name, number[, transformer_index])] = fn``."""
        return self._edit(lambda o: set_model_options_patch_replace(o, fn, name, block_name, number,
                                                                    transformer_index))

    def with_wrapper(self, wrapper_type: str, key: str, fn: Callable[..., Any]) -> ModelOptions:
        def edit(o: dict[str, Any]) -> None:
            by_type = o[TRANSFORMER_OPTIONS].setdefault("wrappers", {}).setdefault(wrapper_type, {})
            by_type[key] = [*by_type.get(key, []), fn]

        return self._edit(edit)

    def with_transformer_option(self, key: str, value: Any) -> ModelOptions:
        return self._edit(lambda o: o[TRANSFORMER_OPTIONS].__setitem__(key, value))


def _set_cfg(options: dict[str, Any], key: str, fn: Any, disable_cfg1: bool, append: bool) -> None:
    options[key] = [*options.get(key, []), fn] if append else fn
    if disable_cfg1:
        options[DISABLE_CFG1] = True


def set_model_options_patch_replace(model_options: dict[str, Any], patch: Callable[..., Any], name: str,
                                    block_name: str, number: int, transformer_index: int | None = None
                                    ) -> dict[str, Any]:
    """ComfyUI's function of the same name: the replacement set in copies of the nested dicts, so the
    caller's ``transformer_options`` (shared with the running sampler) is never changed in place."""
    to = dict(model_options.get(TRANSFORMER_OPTIONS, {}))
    replace = dict(to.get("patches_replace", {}))
    replace[name] = dict(replace.get(name, {}))
    key = (block_name, number) if transformer_index is None else (block_name, number, transformer_index)
    replace[name][key] = patch
    to["patches_replace"] = replace
    model_options[TRANSFORMER_OPTIONS] = to
    return model_options


def model_options_of(model: Any) -> ModelOptions:
    """A MODEL's options (empty for a handle that carries none)."""
    found = getattr(model, "model_options", None)
    return found if isinstance(found, ModelOptions) else ModelOptions()


# -- wrappers ---------------------------------------------------------------------------------------------

def wrappers_of(wrapper_type: str, transformer_options: Mapping[str, Any]) -> list[Callable[..., Any]]:
    """Every wrapper of a type, key by key in insertion order (ComfyUI's ``get_all_wrappers``)."""
    by_key = transformer_options.get("wrappers", {}).get(wrapper_type, {})
    return [fn for fns in by_key.values() for fn in fns]


class WrapperExecutor:
    """ComfyUI's wrapper chain: each wrapper is called as ``wrapper(executor, *args, **kwargs)`` and calls
    ``executor(*args, **kwargs)`` to run the rest of the chain (the last link runs the original).
    ``class_obj`` is the object the wrapped code belongs to (the sampling run for OUTER_SAMPLE)."""

    def __init__(self, original: Callable[..., Any], class_obj: Any, wrappers: list[Callable[..., Any]],
                 idx: int = 0) -> None:
        self.original, self.class_obj, self.wrappers, self.idx = original, class_obj, list(wrappers), idx

    @classmethod
    def new_executor(cls, original: Callable[..., Any], wrappers: list[Callable[..., Any]],
                     idx: int = 0) -> WrapperExecutor:
        return cls(original, None, wrappers, idx)

    @classmethod
    def new_class_executor(cls, original: Callable[..., Any], class_obj: Any, wrappers: list[Callable[..., Any]],
                           idx: int = 0) -> WrapperExecutor:
        return cls(original, class_obj, wrappers, idx)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the next wrapper (or the original); what a wrapper calls with the executor it received."""
        return WrapperExecutor(self.original, self.class_obj, self.wrappers, self.idx + 1).execute(*args, **kwargs)

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        """Start the chain at this executor's wrapper."""
        if self.idx >= len(self.wrappers):
            return self.original(*args, **kwargs)
        return self.wrappers[self.idx](self, *args, **kwargs)


def run_wrapped(wrapper_type: str, transformer_options: Mapping[str, Any], original: Callable[..., Any],
                *args: Any, class_obj: Any = None, **kwargs: Any) -> Any:
    """``original(*args, **kwargs)`` through the wrappers of ``wrapper_type`` (directly when there are none)."""
    wrappers = wrappers_of(wrapper_type, transformer_options)
    if not wrappers:
        return original(*args, **kwargs)
    return WrapperExecutor(original, class_obj, wrappers).execute(*args, **kwargs)
