"""Feeding diffusers' HunyuanVideo15Transformer3DModel the way ComfyUI feeds its HunyuanVideo 1.5
(``model_base.HunyuanVideo15``).

Per conditioning entry (:meth:`HunyuanVideo15Adapter.encode`):

- the Qwen2.5-VL states of the ``hunyuan_video_15`` recipe (its ``attention_mask`` when it has padding);
- ``conditioning_byt5small`` → ByT5's states of the prompt's quoted text (absent: no glyph tokens at all);
- ``clip_vision_output`` → SigLIP's last hidden states (absent, as for text-to-video: no image tokens);
- ``concat_latent_image`` / ``concat_mask`` (HunyuanVideo15ImageToVideo) → the 33 channels beyond the noise,
  as ComfyUI's ``concat_cond``: the image latent resized to the latent and scaled into the model's space,
  then 1 − mask; zeros where nothing is given.
- the 1080p super-resolution model (98 input channels, ComfyUI's ``HunyuanVideo15_SR_Distilled``):
  ``concat_latent_image`` (HunyuanVideo15SuperResolution's 66 channels) resized to the latent, not scaled
  (Tencent's code does not scale it), and its low-resolution latent part (channels 33–64) noised by
  ``noise_augmentation`` as ComfyUI does: a CPU draw seeded with the sampler's seed − 10, then
  ``a · noise + min(1 − a, 0.75) · latent`` (``0.75 · latent`` when ``a`` is 0); zeros when absent.

A model with a MeanFlow ``time_r`` embedder (the super-resolution model) is also given, as ComfyUI gives it,
the next σ of the sampled schedule after the current one (1000·σ, via ``transformer_options``), and the two
time embeddings are averaged (diffusers adds them; ComfyUI takes their mean). Where the current σ is not in
the schedule (a sampler's intermediate evaluation), only the main embedding is used, as in ComfyUI.

ComfyUI leaves absent inputs out of the token sequence; diffusers' forward always takes all three streams, so
absent ones are given with no tokens (zero-length tensors). ComfyUI's sequence order — image tokens, glyph
tokens, then the prompt's — is diffusers' order for valid tokens.

Two things are replaced on the diffusers module, neither changing its numbers: its attention processor
builds a dense [B, 1, S, S] mask even when every token is valid (12 GB for 720p at 121 frames), so
:class:`Processor` skips the mask then; and the main time embedder's input is cast to its weight's dtype, so
the timestep is passed in float32 as ComfyUI computes its sinusoidal embedding (a bfloat16 1000·σ is off by up
to 4).
"""

from __future__ import annotations

from typing import Any

import torch

from .base import LatentFormat
from .wan_adapter import _to_batch, concat_mask, pad_to_patch


class Transformer:
    """diffusers' HunyuanVideo15Transformer3DModel built from a config that may also name the ByT5 mapper's
    hidden width (``byt5_hidden_dim``; diffusers fixes it at the released 2,048, test models are narrower)."""

    @staticmethod
    def from_config(config: dict[str, Any]) -> Any:
        from diffusers import HunyuanVideo15Transformer3DModel
        from diffusers.models.transformers.transformer_hunyuan_video15 import HunyuanVideo15ByT5TextProjection

        config = dict(config)
        hidden = int(config.pop("byt5_hidden_dim", 2048))
        model = HunyuanVideo15Transformer3DModel.from_config(config)
        if hidden != 2048:
            width = int(config["num_attention_heads"]) * int(config["attention_head_dim"])
            model.context_embedder_2 = HunyuanVideo15ByT5TextProjection(int(config["text_embed_2_dim"]), hidden, width)
        return model


def _processor_class() -> type:
    from diffusers.models.attention_dispatch import dispatch_attention_fn
    from diffusers.models.embeddings import apply_rotary_emb
    from diffusers.models.transformers.transformer_hunyuan_video15 import HunyuanVideo15AttnProcessor2_0

    class Processor(HunyuanVideo15AttnProcessor2_0):  # type: ignore[misc]
        """diffusers' joint attention without the attention mask when every token is valid."""

        def __call__(self, attn: Any, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                     attention_mask: torch.Tensor | None = None, image_rotary_emb: Any = None) -> Any:
            if attention_mask is not None and not bool(attention_mask.all()) or encoder_hidden_states is None:
                return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, image_rotary_emb)
            query = attn.norm_q(attn.to_q(hidden_states).unflatten(2, (attn.heads, -1)))
            key = attn.norm_k(attn.to_k(hidden_states).unflatten(2, (attn.heads, -1)))
            value = attn.to_v(hidden_states).unflatten(2, (attn.heads, -1))
            if image_rotary_emb is not None:
                query = apply_rotary_emb(query, image_rotary_emb, sequence_dim=1)
                key = apply_rotary_emb(key, image_rotary_emb, sequence_dim=1)
            added_q = attn.add_q_proj(encoder_hidden_states).unflatten(2, (attn.heads, -1))
            added_k = attn.add_k_proj(encoder_hidden_states).unflatten(2, (attn.heads, -1))
            added_v = attn.add_v_proj(encoder_hidden_states).unflatten(2, (attn.heads, -1))
            if attn.norm_added_q is not None:
                added_q = attn.norm_added_q(added_q)
            if attn.norm_added_k is not None:
                added_k = attn.norm_added_k(added_k)
            out = dispatch_attention_fn(torch.cat([query, added_q], dim=1), torch.cat([key, added_k], dim=1),
                                        torch.cat([value, added_v], dim=1), attn_mask=None, dropout_p=0.0,
                                        is_causal=False, backend=self._attention_backend,
                                        parallel_config=self._parallel_config)
            out = out.flatten(2, 3).to(query.dtype)
            text = encoder_hidden_states.shape[1]
            image_part, text_part = out[:, :-text] if text else out, out[:, out.shape[1] - text:]
            image_part = attn.to_out[1](attn.to_out[0](image_part))
            if getattr(attn, "to_add_out", None) is not None:
                text_part = attn.to_add_out(text_part)
            return image_part, text_part

    return Processor


def install_processors(model: Any) -> None:
    """The unmasked processor on every joint attention block, and the time embedder fed its weight's dtype."""
    cls = _processor_class()
    for block in model.transformer_blocks:
        block.attn.set_processor(cls())

    def cast(module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        weight = module.linear_1.weight
        dtype = weight.dtype if weight.dtype.is_floating_point and weight.element_size() > 1 else args[0].dtype
        return (args[0].to(dtype), *args[1:])

    model.time_embed.timestep_embedder.register_forward_pre_hook(cast)
    if model.time_embed.timestep_embedder_r is not None:
        model.time_embed.timestep_embedder_r.register_forward_pre_hook(cast)

        def mean(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any], output: torch.Tensor) -> torch.Tensor:
            return output / 2 if kwargs.get("timestep_r") is not None else output  # ComfyUI: (vec + vec_r) / 2

        model.time_embed.register_forward_hook(mean, with_kwargs=True)


class HunyuanVideo15Adapter:
    """See the module docstring (``conds.ModelAdapter``)."""

    spatial_keys: frozenset[str] = frozenset()

    def __init__(self, latent_format: LatentFormat, config: dict[str, Any], super_resolution: bool = False) -> None:
        self.latent_format = latent_format
        self.config = config
        self.super_resolution = super_resolution
        self.reads_options = bool(config.get("use_meanflow"))  # the schedule gives MeanFlow's next σ
        self.inpaint_clean = True  # ComfyUI's HunyuanVideo.scale_latent_inpaint: the kept frames stay clean

    def activation_bytes(self, shape: tuple[int, ...]) -> int:
        """A generous estimate of one network call's working memory for a latent of ``shape`` [B, C, T, h, w]
        (the tokens of a positive and a negative pass through a block's widest tensors, 2-byte activations)."""
        if len(shape) != 5:
            return 0
        config = self.config
        spatial, temporal = int(config.get("patch_size", 1)), int(config.get("patch_size_t", 1))
        tokens = -(-shape[2] // temporal) * -(-shape[3] // spatial) * -(-shape[4] // spatial)
        width = int(config["num_attention_heads"]) * int(config["attention_head_dim"])
        return 2 * int(shape[0]) * tokens * int(width * (4 + float(config.get("mlp_ratio", 4.0)))) * 2

    def encode(self, module: Any, embedding: torch.Tensor, options: dict[str, Any], ctx: Any
               ) -> dict[str, torch.Tensor]:
        device, dtype = ctx.device, ctx.dtype
        out: dict[str, torch.Tensor] = {"context": embedding.to(device, dtype)}
        mask = options.get("attention_mask")
        if mask is not None and not bool(mask.bool().all()):
            out["context_mask"] = mask.to(device).bool()
        byt5 = options.get("conditioning_byt5small")
        if byt5 is not None:
            out["byt5"] = byt5.to(device, dtype)
        clip = options.get("clip_vision_output")
        if clip is not None:
            out["image"] = clip.last_hidden_state.to(device, dtype)
        concat = self._sr_concat(options, ctx) if self.super_resolution else self._concat(module, options, ctx)
        if concat is not None:
            out["concat"] = concat.to(device, dtype)
        return out

    def _concat(self, module: Any, options: dict[str, Any], ctx: Any) -> torch.Tensor | None:
        from ...image_utils import common_upscale

        shape = ctx.latent_shape
        extra = int(module.config.in_channels) - int(shape[1]) - 1
        if extra <= 0:
            return None
        batch, height, width = shape[0], shape[-2], shape[-1]
        image = options.get("concat_latent_image")
        if image is None:
            image = torch.zeros(batch, extra, *shape[2:])
        else:
            image = common_upscale(image.float().cpu(), width, height, "bilinear", "center")
            step = self.latent_format.channels
            image = torch.cat([self.latent_format.process_in(image[:, i:i + step])
                               for i in range(0, image.shape[1], step)], dim=1)
            image = _to_batch(image, batch)
        return torch.cat((image, concat_mask(options, ctx, 1)), dim=1)

    def _sr_concat(self, options: dict[str, Any], ctx: Any) -> torch.Tensor:
        """ComfyUI's ``HunyuanVideo15_SR_Distilled.concat_cond`` (see the module docstring)."""
        from ...image_utils import common_upscale

        shape = ctx.latent_shape
        batch, channels = int(shape[0]), int(shape[1])
        image = options.get("concat_latent_image")
        if image is None:
            return torch.zeros(batch, 2 * channels + 2, *shape[2:])
        image = _to_batch(common_upscale(image.float().cpu(), shape[-1], shape[-2], "bilinear", "center"), batch)
        image = image.clone()
        low = slice(channels + 1, 2 * channels + 1)
        strength = float(options.get("noise_augmentation", 0.0))
        if strength > 0:
            generator = torch.Generator(device="cpu").manual_seed(int(ctx.seed or 0) - 10)
            noise = torch.randn(image[:, low].shape, generator=generator, dtype=image.dtype)
            image[:, low] = strength * noise + min(1.0 - strength, 0.75) * image[:, low]
        else:
            image[:, low] = 0.75 * image[:, low]
        return image

    @staticmethod
    def next_sigma(transformer_options: dict[str, Any] | None) -> float | None:
        """The σ after the current one in the sampled schedule (ComfyUI's MeanFlow ``timesteps_r``), or None
        where the current σ is not one of the schedule's."""
        if not transformer_options:
            return None
        sigmas, schedule = transformer_options.get("sigmas"), transformer_options.get("sample_sigmas")
        if sigmas is None or schedule is None:
            return None
        schedule = schedule.float().cpu()
        found = torch.where(torch.as_tensor(sigmas).flatten()[0].float().cpu() == schedule)[0]
        if len(found) == 0 or int(found[0]) + 1 >= len(schedule):
            return None
        return float(schedule[int(found[0]) + 1])

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor], transformer_options: dict[str, Any] | None = None) -> torch.Tensor:
        frames, height, width = x_in.shape[-3:]
        config = module.config
        patch = (int(config.patch_size_t), int(config.patch_size), int(config.patch_size))
        x = x_in
        if "concat" in conds:
            x = torch.cat([x, conds["concat"].to(x.dtype)], dim=1)
        x = pad_to_patch(x, patch)
        batch = x.shape[0]
        context = conds["context"].to(x.dtype)
        context_mask = conds.get("context_mask")
        if context_mask is None:
            context_mask = torch.ones(context.shape[:2], dtype=torch.bool, device=x.device)
        byt5 = conds.get("byt5")
        if byt5 is None:
            byt5 = x.new_zeros(batch, 0, int(config.text_embed_2_dim))
        image = conds.get("image")
        if image is None:
            image = x.new_zeros(batch, 0, int(config.image_embed_dim))
        extra: dict[str, Any] = {}
        if module.time_embed.timestep_embedder_r is not None:
            following = self.next_sigma(transformer_options)
            if following is not None:
                extra["timestep_r"] = torch.full_like(timestep.float(), following * 1000.0)
        output: torch.Tensor = module(
            hidden_states=x, timestep=timestep.float(), encoder_hidden_states=context,
            encoder_attention_mask=context_mask, encoder_hidden_states_2=byt5.to(x.dtype),
            encoder_attention_mask_2=torch.ones(byt5.shape[:2], dtype=torch.bool, device=x.device),
            image_embeds=image.to(x.dtype), return_dict=False, **extra)[0]
        return output[:, :, :frames, :height, :width]
