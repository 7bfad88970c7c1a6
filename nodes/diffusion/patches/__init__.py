"""Model patches that change sampling: ComfyUI's ``model_options`` as data on a MODEL, and what runs them.

- :mod:`.options`: :class:`~.options.ModelOptions`, the immutable, ComfyUI-shaped ``model_options`` a
  ``ModelHandle`` carries (CFG hooks, the model-function wrapper, attention and block patches, wrappers),
  and ComfyUI's wrapper executor.
- :mod:`.support`: which patches a model family's adapter can run, checked before sampling with errors that
  name the node and the family, and the per-call context that installs them.
- :mod:`.unet_hooks`: attention and block patches on diffusers' ``UNet2DConditionModel`` (SD1/SD2/SDXL), as
  attention processors and module hooks installed for one network call.
- :mod:`.attention`, :mod:`.unet_patches`, :mod:`.guidance_patches`, :mod:`.step_cache`: the patches the
  built-in nodes add (FreeU, ToMe, HyperTile, Kohya deep shrink; RescaleCFG, CFG-Zero*, APG, PAG, SAG;
  EasyCache and LazyCache).

Where each hook runs (as in ComfyUI): the CFG hooks in ``guidance.sampling_function`` / ``cfg_function``,
the model-function wrapper and the per-call ``transformer_options`` in ``guidance.ModelRunner``, the
denoise-mask function in ``guidance.Denoiser``, the outer-sample wrappers in ``ksampler.run_sampler``.
"""
