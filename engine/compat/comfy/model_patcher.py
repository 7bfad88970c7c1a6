"""``comfy.model_patcher`` for ComfyUI packs: ``ModelPatcher`` over an Inkgraph MODEL handle.

A MODEL reaches a ComfyUI node as a :class:`ModelPatcher` (:mod:`..values`). It behaves as ComfyUI's:
``clone()`` gives an independent copy, ``model_options`` is a plain mutable dict of ComfyUI's shape, the
``set_model_*`` setters, ``add_wrapper*``, ``add_object_patch("model_sampling", …)``, ``add_patches`` and
``set_attachments`` change the copy in place; ``get_model_object``, ``model.model_sampling``,
``model.latent_format``, ``load_device`` and ``model_dtype()`` answer from the model's family. When the node
returns it, the facade becomes a new handle (:meth:`handle`): the same weights, with these model options
(``patches.options.ModelOptions``), this model sampling, and each ``add_patches`` call as one more weight
patch applied as LoRAs are (``lora.sync``). The handle the node received is never changed.

What a facade cannot do — run ComfyUI's own loading (``patch_model``), callbacks other than on clone, object
patches other than the model sampling and latent format, injections — raises an error naming the ComfyUI
method when a node calls it.
"""

from __future__ import annotations

import copy
import inspect
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..stubs import Unavailable, UnavailableAttribute, comfy_attribute

# wrapper points Inkgraph's sampler calls (patches.options.WrappersMP)
CALLED_WRAPPERS = frozenset({"outer_sample", "predict_noise", "calc_cond_batch", "diffusion_model"})


def _unavailable(method: str, why: str = "") -> Unavailable:
    return Unavailable(f"ComfyUI's comfy.model_patcher.ModelPatcher.{method} is not available in Inkgraph yet"
                       f"{f' ({why})' if why else ''}; the node pack that calls it needs ComfyUI's own model loading")


def _torch_device(name: str) -> Any:
    import torch

    return torch.device(name)


class ModelPatcher:
    """ComfyUI's ModelPatcher; over an Inkgraph MODEL handle (:meth:`of`), or over a pack's own module (then it
    only carries it between the pack's nodes)."""

    def __init__(self, model: Any = None, load_device: Any = None, offload_device: Any = None, size: int = 0,
                 weight_inplace_update: bool = False) -> None:
        self._handle: Any = None
        self._model = model
        self.load_device = load_device
        self.offload_device = offload_device
        self.size = size
        self.weight_inplace_update = weight_inplace_update
        self.model_options: dict[str, Any] = {"transformer_options": {}}
        self.patches: dict[Any, list[tuple[Any, ...]]] = {}
        self.patches_uuid = uuid.uuid4()
        self.object_patches: dict[str, Any] = {}
        self.object_patches_backup: dict[str, Any] = {}
        self.attachments: dict[str, Any] = {}
        self.additional_models: dict[str, list[Any]] = {}
        self.callbacks: dict[str, dict[Any, list[Callable[..., Any]]]] = {}
        self.wrappers: dict[str, dict[Any, list[Callable[..., Any]]]] = {}
        self.injections: dict[str, list[Any]] = {}
        self.parent: ModelPatcher | None = None
        self.is_clip = False
        self.hook_mode = None
        self._loras: list[Any] = []  # add_patches / load_lora_for_models since the handle, in order

    # -- conversion -------------------------------------------------------------------------------------

    @classmethod
    def of(cls, handle: Any) -> ModelPatcher:
        """A facade over a MODEL handle, with the ComfyUI state it carries."""
        patcher = cls(None, _torch_device(handle.manager.policy.device), _torch_device("cpu"))
        patcher._handle = handle
        patcher.model_options = handle.model_options.as_dict()
        state = dict(handle.comfy_state or {})
        patcher.attachments = dict(state.get("attachments", {}))
        patcher.additional_models = {k: list(v) for k, v in state.get("additional_models", {}).items()}
        patcher.object_patches = dict(state.get("object_patches", {}))
        patcher.patches = {k: list(v) for k, v in state.get("patches", {}).items()}
        return patcher

    def handle(self) -> Any:
        """The MODEL handle this facade stands for now: a new handle when anything was changed."""
        if self._handle is None:
            raise _unavailable("model", "this ModelPatcher holds a node pack's own module, not an Inkgraph MODEL")
        from inkgraph.nodes.diffusion.patches.options import ModelOptions

        handle = self._handle
        options = copy.copy(self.model_options)
        options["transformer_options"] = dict(options.get("transformer_options") or {})
        if self.wrappers:
            from .patcher_extension import merge_nested_dicts

            options["transformer_options"]["wrappers"] = merge_nested_dicts(
                options["transformer_options"].get("wrappers", {}), self.wrappers)
        sampling = self.object_patches.get("model_sampling")
        state = {"attachments": dict(self.attachments), "additional_models": dict(self.additional_models),
                 "object_patches": {k: v for k, v in self.object_patches.items() if k != "model_sampling"},
                 "patches": {k: list(v) for k, v in self.patches.items()}}
        for lora in self._loras:
            handle = handle.with_lora(lora)
        return replace(handle, model_options=ModelOptions.from_dict(options),
                       sampling_override=sampling if sampling is not None else handle.sampling_override,
                       comfy_state=state)

    def __inkgraph_value__(self) -> Any:
        return self.handle() if self._handle is not None else self

    # -- ComfyUI's attributes ---------------------------------------------------------------------------

    @property
    def model(self) -> Any:
        if self._handle is None:
            return self._model
        from .model_base import ModelFacade

        return ModelFacade(self)

    @model.setter
    def model(self, value: Any) -> None:
        self._model = value

    def clone(self, *args: Any, **kwargs: Any) -> ModelPatcher:
        n = ModelPatcher(self._model, self.load_device, self.offload_device, self.size, self.weight_inplace_update)
        n._handle = self._handle
        n.model_options = _copy_options(self.model_options)
        n.patches = {k: list(v) for k, v in self.patches.items()}
        n.patches_uuid = self.patches_uuid
        n.object_patches = dict(self.object_patches)
        n.attachments = dict(self.attachments)
        n.additional_models = {k: list(v) for k, v in self.additional_models.items()}
        n.wrappers = {t: {k: list(v) for k, v in by_key.items()} for t, by_key in self.wrappers.items()}
        n.callbacks = {t: {k: list(v) for k, v in by_key.items()} for t, by_key in self.callbacks.items()}
        n._loras = list(self._loras)
        n.parent = self
        for callback in self.get_all_callbacks("on_clone"):
            callback(self, n)
        return n

    def __deepcopy__(self, memo: dict[int, Any]) -> ModelPatcher:
        """A clone: the weights belong to the model manager and are never copied (a node pack's
        ``copy.deepcopy(model)`` would otherwise copy every loaded model)."""
        return self.clone()

    def is_clone(self, other: Any) -> bool:
        theirs = getattr(other, "_handle", None)
        return self._handle is not None and theirs is not None and theirs.key == self._handle.key

    def clone_has_same_weights(self, clone: Any, allow_multigpu: bool = False) -> bool:
        return self.is_clone(clone) and not self._loras and not getattr(clone, "_loras", [1]) \
            and self._handle.loras == clone._handle.loras

    def model_size(self) -> int:
        if self._handle is None:
            return self.size
        from ...core.devices import module_nbytes

        return module_nbytes(self.model.diffusion_model)

    def loaded_size(self) -> int:
        return self.model_size()

    def model_dtype(self) -> Any:
        if self._handle is None:
            return getattr(self._model, "dtype", None)
        from ...core.devices import torch_dtype

        return torch_dtype(self._handle.manager.policy.dtype)

    def current_loaded_device(self) -> Any:
        return self.load_device

    def memory_required(self, input_shape: Any) -> int:
        return 0

    def get_model_object(self, name: str) -> Any:
        if name in self.object_patches:
            return self.object_patches[name]
        if self._handle is None:
            from .utils import get_attr

            return get_attr(self._model, name)
        from inkgraph.nodes.diffusion.model_api import latent_format_of, model_sampling_of

        if name == "model_sampling":
            return model_sampling_of(self._handle)
        if name == "latent_format":
            from .latent_formats import from_inkgraph

            return from_inkgraph(latent_format_of(self._handle))
        if name == "diffusion_model":
            return self.model.diffusion_model
        if name.startswith("diffusion_model."):
            from .utils import get_attr

            return get_attr(self.model.diffusion_model, name[len("diffusion_model."):])
        return getattr(self.model, name)

    # -- model_options setters (ComfyUI's names and argument forms) -------------------------------------

    def disable_model_cfg1_optimization(self) -> None:
        self.model_options["disable_cfg1_optimization"] = True

    def set_model_sampler_cfg_function(self, sampler_cfg_function: Callable[..., Any],
                                       disable_cfg1_optimization: bool = False) -> None:
        if len(inspect.signature(sampler_cfg_function).parameters) == 3:  # the legacy (cond, uncond, scale) form
            fn = sampler_cfg_function
            def legacy(args: dict[str, Any]) -> Any:
                return fn(args["cond"], args["uncond"], args["cond_scale"])

            self.model_options["sampler_cfg_function"] = legacy
        else:
            self.model_options["sampler_cfg_function"] = sampler_cfg_function
        if disable_cfg1_optimization:
            self.disable_model_cfg1_optimization()

    def _append(self, key: str, fn: Callable[..., Any], disable_cfg1_optimization: bool) -> None:
        self.model_options[key] = [*self.model_options.get(key, []), fn]
        if disable_cfg1_optimization:
            self.disable_model_cfg1_optimization()

    def set_model_sampler_post_cfg_function(self, post_cfg_function: Callable[..., Any],
                                            disable_cfg1_optimization: bool = False) -> None:
        self._append("sampler_post_cfg_function", post_cfg_function, disable_cfg1_optimization)

    def set_model_sampler_pre_cfg_function(self, pre_cfg_function: Callable[..., Any],
                                           disable_cfg1_optimization: bool = False) -> None:
        self._append("sampler_pre_cfg_function", pre_cfg_function, disable_cfg1_optimization)

    def set_model_sampler_calc_cond_batch_function(self, sampler_calc_cond_batch_function: Callable[..., Any]) -> None:
        self.model_options["sampler_calc_cond_batch_function"] = sampler_calc_cond_batch_function

    def set_model_unet_function_wrapper(self, unet_wrapper_function: Callable[..., Any]) -> None:
        self.model_options["model_function_wrapper"] = unet_wrapper_function

    def set_model_denoise_mask_function(self, denoise_mask_function: Callable[..., Any]) -> None:
        self.model_options["denoise_mask_function"] = denoise_mask_function

    def set_model_patch(self, patch: Any, name: str) -> None:
        to = self.model_options.setdefault("transformer_options", {})
        patches = to.setdefault("patches", {})
        patches[name] = [*patches.get(name, []), patch]

    def set_model_patch_replace(self, patch: Any, name: str, block_name: str, number: int,
                                transformer_index: int | None = None) -> None:
        from inkgraph.nodes.diffusion.patches.options import set_model_options_patch_replace

        self.model_options = set_model_options_patch_replace(self.model_options, patch, name, block_name, number,
                                                             transformer_index)

    def set_model_attn1_patch(self, patch: Any) -> None:
        self.set_model_patch(patch, "attn1_patch")

    def set_model_attn2_patch(self, patch: Any) -> None:
        self.set_model_patch(patch, "attn2_patch")

    def set_model_attn1_replace(self, patch: Any, block_name: str, number: int, transformer_index: int | None = None
                                ) -> None:
        self.set_model_patch_replace(patch, "attn1", block_name, number, transformer_index)

    def set_model_attn2_replace(self, patch: Any, block_name: str, number: int, transformer_index: int | None = None
                                ) -> None:
        self.set_model_patch_replace(patch, "attn2", block_name, number, transformer_index)

    def set_model_attn1_output_patch(self, patch: Any) -> None:
        self.set_model_patch(patch, "attn1_output_patch")

    def set_model_attn2_output_patch(self, patch: Any) -> None:
        self.set_model_patch(patch, "attn2_output_patch")

    def set_model_input_block_patch(self, patch: Any) -> None:
        self.set_model_patch(patch, "input_block_patch")

    def set_model_input_block_patch_after_skip(self, patch: Any) -> None:
        self.set_model_patch(patch, "input_block_patch_after_skip")

    def set_model_output_block_patch(self, patch: Any) -> None:
        self.set_model_patch(patch, "output_block_patch")

    def set_model_emb_patch(self, patch: Any) -> None:
        self.set_model_patch(patch, "emb_patch")

    def set_model_forward_timestep_embed_patch(self, patch: Any) -> None:
        self.set_model_patch(patch, "forward_timestep_embed_patch")

    def set_model_double_block_patch(self, patch: Any) -> None:
        self.set_model_patch(patch, "double_block")

    def set_model_post_input_patch(self, patch: Any) -> None:
        self.set_model_patch(patch, "post_input")

    def set_model_middle_block_after_patch(self, patch: Any) -> None:
        self.set_model_patch(patch, "middle_block_after_patch")

    def set_model_noise_refiner_patch(self, patch: Any) -> None:
        self.set_model_patch(patch, "noise_refiner")

    def set_model_optimized_attention(self, optimized_attention: Any) -> None:
        raise _unavailable("set_model_optimized_attention", "Inkgraph's networks run their own attention")

    def set_model_rope_options(self, *args: Any, **kwargs: Any) -> None:
        raise _unavailable("set_model_rope_options")

    def set_model_compute_dtype(self, dtype: Any) -> None:
        raise _unavailable("set_model_compute_dtype", "the model manager owns the compute dtype")

    def add_weight_wrapper(self, name: str, function: Any) -> None:
        raise _unavailable("add_weight_wrapper")

    def add_object_patch(self, name: str, obj: Any) -> None:
        """``model_sampling`` (ModelSampling* nodes) and ``latent_format`` are honoured; other objects are the
        network's own modules, which Inkgraph does not replace."""
        if name not in ("model_sampling", "latent_format") and self._handle is not None:
            raise _unavailable(f"add_object_patch({name!r})", "only 'model_sampling' and 'latent_format' are honoured")
        self.object_patches[name] = obj

    # -- wrappers, callbacks, attachments, additional models ---------------------------------------------

    def add_wrapper(self, wrapper_type: str, wrapper: Callable[..., Any]) -> None:
        self.add_wrapper_with_key(wrapper_type, None, wrapper)

    def add_wrapper_with_key(self, wrapper_type: str, key: Any, wrapper: Callable[..., Any]) -> None:
        if wrapper_type not in CALLED_WRAPPERS:
            raise _unavailable(f"add_wrapper({wrapper_type!r})",
                               f"Inkgraph's sampler calls the {', '.join(sorted(CALLED_WRAPPERS))} wrappers")
        self.wrappers.setdefault(wrapper_type, {}).setdefault(key, []).append(wrapper)

    def remove_wrappers_with_key(self, wrapper_type: str, key: Any) -> None:
        self.wrappers.get(wrapper_type, {}).pop(key, None)

    def get_wrappers(self, wrapper_type: str, key: Any) -> list[Callable[..., Any]]:
        return self.wrappers.get(wrapper_type, {}).get(key, [])

    def get_all_wrappers(self, wrapper_type: str) -> list[Callable[..., Any]]:
        return [fn for fns in self.wrappers.get(wrapper_type, {}).values() for fn in fns]

    def add_callback(self, call_type: str, callback: Callable[..., Any]) -> None:
        self.add_callback_with_key(call_type, None, callback)

    def add_callback_with_key(self, call_type: str, key: Any, callback: Callable[..., Any]) -> None:
        if call_type != "on_clone":
            raise _unavailable(f"add_callback({call_type!r})", "Inkgraph calls only on_clone callbacks")
        self.callbacks.setdefault(call_type, {}).setdefault(key, []).append(callback)

    def remove_callbacks_with_key(self, call_type: str, key: Any) -> None:
        self.callbacks.get(call_type, {}).pop(key, None)

    def get_callbacks(self, call_type: str, key: Any) -> list[Callable[..., Any]]:
        return self.callbacks.get(call_type, {}).get(key, [])

    def get_all_callbacks(self, call_type: str) -> list[Callable[..., Any]]:
        return [fn for fns in self.callbacks.get(call_type, {}).values() for fn in fns]

    def set_attachments(self, key: str, attachment: Any) -> None:
        self.attachments[key] = attachment

    def remove_attachments(self, key: str) -> None:
        self.attachments.pop(key, None)

    def get_attachment(self, key: str) -> Any:
        return self.attachments.get(key)

    def set_additional_models(self, key: str, models: list[Any]) -> None:
        self.additional_models[key] = models

    def remove_additional_models(self, key: str) -> None:
        self.additional_models.pop(key, None)

    def get_additional_models_with_key(self, key: str) -> list[Any]:
        return self.additional_models.get(key, [])

    def get_additional_models(self) -> list[Any]:
        return [m for models in self.additional_models.values() for m in models]

    def get_nested_additional_models(self) -> list[Any]:
        return self.get_additional_models()

    def set_injections(self, key: str, injections: Any) -> None:
        raise _unavailable("set_injections")

    def get_injections(self, key: str) -> list[Any]:
        return self.injections.get(key, [])

    # -- weights -------------------------------------------------------------------------------------------

    def add_patches(self, patches: dict[Any, Any], strength_patch: float = 1.0, strength_model: float = 1.0
                    ) -> list[Any]:
        """ComfyUI's weight patches (``{"diffusion_model.<module>.weight": patch}``), applied when the model
        runs as LoRAs are; the keys that name a weight of this model are returned."""
        from ._weights import weight_patch_file

        if self._handle is None:
            raise _unavailable("add_patches", "this ModelPatcher holds a node pack's own module")
        file, used = weight_patch_file(self._handle, patches, strength_model)
        for key in used:
            self.patches.setdefault(key if isinstance(key, str) else key[0], []).append(
                (strength_patch, patches[key], strength_model, None, None))
        if used:
            from inkgraph.nodes.diffusion.handles import Lora

            self._loras.append(Lora(file, ("add_patches", uuid.uuid4().hex), strength_patch))
            self.patches_uuid = uuid.uuid4()
        return used

    def add_lora(self, lora: Any) -> None:
        """One more ``handles.Lora`` (``comfy.sd.load_lora_for_models``)."""
        self._loras.append(lora)
        self.patches_uuid = uuid.uuid4()

    def model_state_dict(self, filter_prefix: str | None = None) -> dict[str, Any]:
        """The network's tensors as ``diffusion_model.<name>`` (copies: the weights the model manager holds may be
        patched in place by other MODEL values later)."""
        from ._weights import state_dict_of

        return state_dict_of(self.handle(), "diffusion_model.", filter_prefix)

    def get_key_patches(self, filter_prefix: str | None = None) -> dict[str, list[Any]]:
        """ComfyUI's ``{key: [(weight, convert)]}``: the weights as this MODEL has them (its LoRAs and patches
        applied), to merge into another model with ``add_patches``."""
        def identity(a: Any, **kwargs: Any) -> Any:
            return a

        return {k: [(v, identity)] for k, v in self.model_state_dict(filter_prefix).items()}

    def patch_model(self, *args: Any, **kwargs: Any) -> Any:
        raise _unavailable("patch_model", "the model manager loads and patches the weights when the model is used")

    def unpatch_model(self, *args: Any, **kwargs: Any) -> None:
        return None

    def patch_model_lowvram(self, *args: Any, **kwargs: Any) -> Any:
        raise _unavailable("patch_model_lowvram")

    def model_patches_to(self, device: Any) -> None:
        return None

    def model_patches_models(self) -> list[Any]:
        return []

    def pre_run(self) -> None:
        return None

    def cleanup(self) -> None:
        return None

    def prepare_state(self, timestep: Any) -> None:
        return None

    def detach(self, unpatch_all: bool = True) -> Any:
        return self.model

    def lowvram_patch_counter(self) -> int:
        return 0

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_handle":
            raise AttributeError(name)
        raise UnavailableAttribute(str(_unavailable(name)))

    def __repr__(self) -> str:
        kind = getattr(getattr(self._handle, "family", None), "kind", None)
        return f"<ModelPatcher over Inkgraph's {kind} MODEL>" if kind else "<ModelPatcher over a pack's own model>"


def _copy_options(options: dict[str, Any]) -> dict[str, Any]:
    """ComfyUI's ``deepcopy_list_dict``: dicts and lists copied at every level, everything else shared."""
    if isinstance(options, dict):
        return {k: _copy_options(v) for k, v in options.items()}
    if isinstance(options, list):
        return [_copy_options(v) for v in options]
    return options


class CoreModelPatcher(ModelPatcher):
    """ComfyUI's default patcher class name (newer ComfyUI); the same facade here."""


def create_model_options_clone(orig_model_options: dict[str, Any]) -> dict[str, Any]:
    return _copy_options(orig_model_options)


def set_model_options_patch_replace(model_options: dict[str, Any], patch: Any, name: str, block_name: str,
                                    number: int, transformer_index: int | None = None) -> dict[str, Any]:
    from inkgraph.nodes.diffusion.patches.options import set_model_options_patch_replace as native

    return native(model_options, patch, name, block_name, number, transformer_index)  # type: ignore[no-any-return]


def set_model_options_post_cfg_function(model_options: dict[str, Any], post_cfg_function: Callable[..., Any],
                                        disable_cfg1_optimization: bool = False) -> dict[str, Any]:
    model_options["sampler_post_cfg_function"] = [*model_options.get("sampler_post_cfg_function", []),
                                                  post_cfg_function]
    if disable_cfg1_optimization:
        model_options["disable_cfg1_optimization"] = True
    return model_options


def set_model_options_pre_cfg_function(model_options: dict[str, Any], pre_cfg_function: Callable[..., Any],
                                       disable_cfg1_optimization: bool = False) -> dict[str, Any]:
    model_options["sampler_pre_cfg_function"] = [*model_options.get("sampler_pre_cfg_function", []),
                                                 pre_cfg_function]
    if disable_cfg1_optimization:
        model_options["disable_cfg1_optimization"] = True
    return model_options


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.model_patcher", name)
