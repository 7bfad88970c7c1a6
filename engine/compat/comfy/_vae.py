"""ComfyUI's ``comfy.sd.VAE`` over an Inkgraph VAE handle.

Images are ``[B, H, W, C]`` in 0…1 and latents the VAE's raw latents, as in ComfyUI; ``encode`` / ``decode``
and the tiled variants run the built-in VAE nodes' code (``vae_ops``), so a pack decoding with
``vae.decode(samples)`` gets VAEDecode's image. Tile sizes follow ComfyUI's units: ``decode_tiled`` in latent
cells (default 64, overlap 16), ``encode_tiled`` in pixels (default 512, overlap 64).
"""

from __future__ import annotations

from typing import Any

from ..stubs import Unavailable, UnavailableAttribute


class VAE:
    """ComfyUI's VAE: an autoencoder with its scale factors."""

    def __init__(self, sd: Any = None, device: Any = None, config: Any = None, dtype: Any = None,
                 metadata: Any = None, _handle: Any = None) -> None:
        if _handle is None:
            raise Unavailable("ComfyUI's comfy.sd.VAE(sd=…) is not available in Inkgraph yet (a node built a VAE "
                              "from a state dict); load one with the VAELoader node or nodes.VAELoader().load_vae")
        self._handle = _handle
        self.crop_input = True
        self.extra_1d_channel = None
        self.not_video = True
        self.latent_dim = 2
        self.output_channels = 3

    @classmethod
    def of(cls, handle: Any) -> VAE:
        return cls(_handle=handle)

    def __inkgraph_value__(self) -> Any:
        return self._handle

    def __deepcopy__(self, memo: dict[int, Any]) -> VAE:
        return VAE.of(self._handle)  # the weights belong to the model manager and are never copied

    def _run(self, fn: Any, *args: Any) -> Any:
        import torch

        from ._sampling import context

        check = context().check_interrupted
        with self._handle.use() as model, torch.inference_mode():
            return fn(model, *args, check)

    def _config(self) -> Any:
        with self._handle.use() as model:
            return model.config

    # -- ComfyUI's attributes ---------------------------------------------------------------------------

    @property
    def downscale_ratio(self) -> int:
        return int(2 ** (len(self._config().block_out_channels) - 1))

    @property
    def upscale_ratio(self) -> int:
        return self.downscale_ratio

    @property
    def latent_channels(self) -> int:
        return int(getattr(self._config(), "latent_channels", 4))

    @property
    def first_stage_model(self) -> Any:
        """The autoencoder module itself (a diffusers AutoencoderKL; read it, never patch it in place)."""
        with self._handle.use() as model:
            return model

    @property
    def vae_dtype(self) -> Any:
        return next(self.first_stage_model.parameters()).dtype

    @property
    def device(self) -> Any:
        return next(self.first_stage_model.parameters()).device

    @property
    def output_device(self) -> Any:
        import torch

        return torch.device("cpu")

    def spacial_compression_decode(self) -> int:
        return self.upscale_ratio

    def spacial_compression_encode(self) -> int:
        return self.downscale_ratio

    def temporal_compression_decode(self) -> None:
        return None

    def memory_used_decode(self, shape: Any, dtype: Any) -> int:
        return 0

    def memory_used_encode(self, shape: Any, dtype: Any) -> int:
        return 0

    def throw_exception_if_invalid(self) -> None:
        return None

    def process_input(self, image: Any) -> Any:
        return image * 2.0 - 1.0

    def process_output(self, image: Any) -> Any:
        return ((image + 1.0) / 2.0).clamp(0.0, 1.0)

    def vae_encode_crop_pixels(self, pixels: Any) -> Any:
        from inkgraph.nodes.diffusion.vae_ops import crop_to_multiple

        return crop_to_multiple(pixels, self.downscale_ratio)

    def get_sd(self) -> dict[str, Any]:
        return {k: v.detach().to("cpu", copy=True) for k, v in self.first_stage_model.state_dict().items()}

    # -- encoding and decoding ------------------------------------------------------------------------------

    def decode(self, samples_in: Any, vae_options: dict[str, Any] | None = None) -> Any:
        from inkgraph.nodes.diffusion.vae_ops import decode

        if vae_options:
            raise Unavailable("ComfyUI's comfy.sd.VAE.decode with vae_options is not available in Inkgraph yet")
        return self._run(decode, samples_in)

    def decode_tiled(self, samples: Any, tile_x: int | None = None, tile_y: int | None = None,
                     overlap: int | None = None, tile_t: int | None = None, overlap_t: int | None = None) -> Any:
        from inkgraph.nodes.diffusion.vae_ops import decode_tiled

        tile = (tile_y or tile_x or 64, tile_x or tile_y or 64)
        return self._run(decode_tiled, samples, tile if tile[0] != tile[1] else tile[0],
                         16 if overlap is None else overlap)

    def encode(self, pixel_samples: Any) -> Any:
        from inkgraph.nodes.diffusion.vae_ops import encode

        return self._run(encode, pixel_samples[..., :3])

    def encode_tiled(self, pixel_samples: Any, tile_x: int | None = None, tile_y: int | None = None,
                     overlap: int | None = None, tile_t: int | None = None, overlap_t: int | None = None) -> Any:
        from inkgraph.nodes.diffusion.vae_ops import encode_tiled

        tile = (tile_y or tile_x or 512, tile_x or tile_y or 512)
        return self._run(encode_tiled, pixel_samples[..., :3], tile if tile[0] != tile[1] else tile[0],
                         64 if overlap is None else overlap)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_handle":
            raise AttributeError(name)
        raise UnavailableAttribute(f"ComfyUI's comfy.sd.VAE.{name} is not available in Inkgraph yet")

    def __repr__(self) -> str:
        return "<VAE over an Inkgraph VAE>"
