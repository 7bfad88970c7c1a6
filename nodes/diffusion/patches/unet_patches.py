"""Patches on the UNet's blocks and self-attention: FreeU (v1 and v2), token merging (ToMe), HyperTile and
Kohya's deep shrink — ComfyUI's ``nodes_freelunch``, ``nodes_tomesd``, ``nodes_hypertile`` and
``nodes_model_downscale``, with their arguments and results.

Each patch is a small object whose ``node_name`` names the node that made it (for error messages). ToMe and
HyperTile draw random choices; ComfyUI draws them from torch's global generator, which its sampler seeds
with the noise seed. Here each draws from its own generator, reseeded with the seed at the start of every
sampling run (an OUTER_SAMPLE wrapper), so a seed gives the same image every time and nothing global moves.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch

log = logging.getLogger(__name__)


class RunSeeded:
    """A patch with its own random generator, reseeded with the sampling seed at the start of every run."""

    def __init__(self) -> None:
        self._generator: torch.Generator | None = None

    @property
    def generator(self) -> torch.Generator:
        if self._generator is None:
            self._generator = torch.Generator().manual_seed(0)
        return self._generator

    def outer_sample(self, executor: Any, *args: Any, **kwargs: Any) -> Any:
        """OUTER_SAMPLE wrapper: args are (noise, latent_image, sampler, sigmas, denoise_mask, callback,
        disable_pbar, seed)."""
        seed = args[7] if len(args) > 7 else kwargs.get("seed", 0)
        self._generator = torch.Generator().manual_seed(int(seed or 0))
        return executor(*args, **kwargs)

    def randint(self, high: int, size: tuple[int, ...], device: torch.device) -> torch.Tensor:
        return torch.randint(high, size=size, generator=self.generator).to(device)


# -- FreeU --------------------------------------------------------------------------------------------

def fourier_filter(x: torch.Tensor, threshold: int, scale: float) -> torch.Tensor:
    """Scale the lowest frequencies of ``x`` (a (2·threshold)² block around the centre of the shifted 2-D
    spectrum, the DC term included) by ``scale``; computed in float32, returned in ``x``'s dtype."""
    spectrum = torch.fft.fftshift(torch.fft.fftn(x.float(), dim=(-2, -1)), dim=(-2, -1))
    _, _, h, w = spectrum.shape
    mask = torch.ones(spectrum.shape, device=x.device)
    cy, cx = h // 2, w // 2
    mask[..., cy - threshold:cy + threshold, cx - threshold:cx + threshold] = scale
    filtered: torch.Tensor = torch.fft.ifftn(torch.fft.ifftshift(spectrum * mask, dim=(-2, -1)), dim=(-2, -1)).real
    return filtered.to(x.dtype)


class FreeUPatch:
    """FreeU's output_block_patch: at the two deepest decoder widths (4× and 2× the model's base channels)
    the first half of the backbone's channels is scaled by b (FreeU_V2: by 1 + (b − 1)·its normalised
    channel mean) and the skip's low frequencies by s."""

    def __init__(self, node_name: str, model_channels: int, b1: float, b2: float, s1: float, s2: float,
                 v2: bool) -> None:
        self.node_name, self.v2 = node_name, v2
        self.scales = {model_channels * 4: (b1, s1), model_channels * 2: (b2, s2)}
        self._fft_on_cpu: set[torch.device] = set()

    def _filter(self, hsp: torch.Tensor, scale: float) -> torch.Tensor:
        if hsp.device not in self._fft_on_cpu:
            try:
                return fourier_filter(hsp, 1, scale)
            except (RuntimeError, TypeError) as exc:
                log.warning("%s: torch.fft does not run on %s (%s); filtering on the CPU", self.node_name,
                            hsp.device, exc)
                self._fft_on_cpu.add(hsp.device)
        return fourier_filter(hsp.cpu(), 1, scale).to(hsp.device)

    def __call__(self, h: torch.Tensor, hsp: torch.Tensor, transformer_options: dict[str, Any]
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        scale = self.scales.get(int(h.shape[1]))
        if scale is None:
            return h, hsp
        half = h.shape[1] // 2
        if self.v2:
            mean = h.mean(1).unsqueeze(1)
            flat = mean.view(mean.shape[0], -1)
            lo = flat.min(dim=-1, keepdim=True).values.unsqueeze(2).unsqueeze(3)
            hi = flat.max(dim=-1, keepdim=True).values.unsqueeze(2).unsqueeze(3)
            h[:, :half] = h[:, :half] * ((scale[0] - 1) * ((mean - lo) / (hi - lo)) + 1)
        else:
            h[:, :half] = h[:, :half] * scale[0]
        return h, self._filter(hsp, scale[1])


# -- ToMe ---------------------------------------------------------------------------------------------

def _identity(x: torch.Tensor, mode: str | None = None) -> torch.Tensor:
    return x


def bipartite_soft_matching(metric: torch.Tensor, w: int, h: int, sx: int, sy: int, r: int,
                            draw: Any = None) -> tuple[Any, Any]:
    """Token merging (Bolya & Hoffman's ToMe for SD): in every sy×sx cell one token (random, or the top-left
    without ``draw``) is a destination, the rest are sources; the r sources most similar (cosine) to a
    destination are averaged into it. Returns (merge, unmerge) for [B, N, C] tensors of the same layout."""
    batch, tokens, _ = metric.shape
    if r <= 0 or w == 1 or h == 1:
        return _identity, _identity
    device = metric.device
    with torch.no_grad():
        hsy, wsx = h // sy, w // sx
        if draw is None:
            choice = torch.zeros(hsy, wsx, 1, device=device, dtype=torch.int64)
        else:
            choice = draw(sy * sx, (hsy, wsx, 1), device)
        cells = torch.zeros(hsy, wsx, sy * sx, device=device, dtype=torch.int64)
        cells.scatter_(dim=2, index=choice, src=-torch.ones_like(choice))
        grid = cells.view(hsy, wsx, sy, sx).transpose(1, 2).reshape(hsy * sy, wsx * sx)
        if hsy * sy < h or wsx * sx < w:  # cells that do not divide the image: the rest are sources
            padded = torch.zeros(h, w, device=device, dtype=torch.int64)
            padded[:hsy * sy, :wsx * sx] = grid
            grid = padded
        order = grid.reshape(1, -1, 1).argsort(dim=1, stable=True)  # destinations (−1) first
        num_dst = hsy * wsx
        src_pos, dst_pos = order[:, num_dst:, :], order[:, :num_dst, :]

        def split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            c = x.shape[-1]
            return (torch.gather(x, 1, src_pos.expand(x.shape[0], tokens - num_dst, c)),
                    torch.gather(x, 1, dst_pos.expand(x.shape[0], num_dst, c)))

        a, b = split(metric / metric.norm(dim=-1, keepdim=True))
        scores = a @ b.transpose(-1, -2)
        r = min(a.shape[1], r)
        best, best_dst = scores.max(dim=-1)
        ranked = best.argsort(dim=-1, descending=True)[..., None]
        kept, merged = ranked[..., r:, :], ranked[..., :r, :]
        merged_dst = torch.gather(best_dst[..., None], -2, merged)

    def merge(x: torch.Tensor, mode: str = "mean") -> torch.Tensor:
        src, dst = split(x)
        n, t1, c = src.shape
        unmerged = torch.gather(src, -2, kept.expand(n, t1 - r, c))
        moving = torch.gather(src, -2, merged.expand(n, r, c))
        dst = dst.scatter_reduce(-2, merged_dst.expand(n, r, c), moving, reduce=mode)
        return torch.cat([unmerged, dst], dim=1)

    def unmerge(x: torch.Tensor) -> torch.Tensor:
        count = kept.shape[1]
        unmerged, dst = x[..., :count, :], x[..., count:, :]
        c = unmerged.shape[-1]
        src = torch.gather(dst, -2, merged_dst.expand(batch, r, c))
        out = torch.zeros(batch, tokens, c, device=x.device, dtype=x.dtype)
        out.scatter_(-2, dst_pos.expand(batch, num_dst, c), dst)
        kept_pos = torch.gather(src_pos.expand(batch, src_pos.shape[1], 1), 1, kept)
        merged_pos = torch.gather(src_pos.expand(batch, src_pos.shape[1], 1), 1, merged)
        out.scatter_(-2, kept_pos.expand(batch, count, c), unmerged)
        out.scatter_(-2, merged_pos.expand(batch, r, c), src)
        return out

    return merge, unmerge


class TomePatch(RunSeeded):
    """ToMe on the full-resolution self-attentions: attn1_patch merges ``ratio`` of the query tokens
    (keys and values keep them all), attn1_output_patch puts the output back on every token."""

    node_name = "TomePatchModel"

    def __init__(self, ratio: float) -> None:
        super().__init__()
        self.ratio = ratio
        self._unmerge: Any = _identity

    def functions(self, x: torch.Tensor, original_shape: list[int]) -> tuple[Any, Any]:
        _, _, height, width = original_shape
        downsample = int(math.ceil(math.sqrt((height * width) // x.shape[1])))
        if downsample > 1:
            return _identity, _identity
        return bipartite_soft_matching(x, int(math.ceil(width / downsample)), int(math.ceil(height / downsample)),
                                       2, 2, int(x.shape[1] * self.ratio), self.randint)

    def attn1_patch(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, extra_options: dict[str, Any]
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        merge, self._unmerge = self.functions(q, extra_options["original_shape"])
        return merge(q), k, v

    def attn1_output_patch(self, n: torch.Tensor, extra_options: dict[str, Any]) -> torch.Tensor:
        return self._unmerge(n)  # type: ignore[no-any-return]


# -- HyperTile ----------------------------------------------------------------------------------------

class HyperTilePatch(RunSeeded):
    """HyperTile: self-attention queries at the chosen depths are cut into tiles of about ``tile_size``
    pixels (the number of tiles picked among the ``swap_size`` largest divisors), and put back after."""

    node_name = "HyperTile"

    def __init__(self, tile_size: int, swap_size: int, max_depth: int, scale_depth: bool) -> None:
        super().__init__()
        self.latent_tile_size = max(32, tile_size) // 8
        self.swap_size, self.max_depth, self.scale_depth = swap_size, max_depth, scale_depth
        self._tiles: tuple[int, int, int, int] | None = None

    def random_divisor(self, value: int, min_value: int, max_options: int = 1) -> int:
        """One of the ``max_options`` largest numbers of parts ``value`` splits into evenly with parts of at
        least ``min_value`` (ComfyUI draws the index below len − 1, so the last option is never taken)."""
        min_value = min(min_value, value)
        divisors = [i for i in range(min_value, value + 1) if value % i == 0]
        options = [value // i for i in divisors[:max_options]]
        index = int(self.randint(len(options) - 1, (1,), torch.device("cpu")).item()) if len(options) > 1 else 0
        return options[index]

    def attn1_patch(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, extra_options: dict[str, Any]
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        shape = extra_options["original_shape"]
        depths = [(shape[-2] / 2 ** i) * (shape[-1] / 2 ** i) for i in range(self.max_depth + 1)]
        tokens = q.shape[-2]
        if tokens not in depths:
            return q, k, v
        aspect = shape[-1] / shape[-2]
        # as ComfyUI: "h" is sqrt(tokens·W/H), i.e. the width on a non-square latent
        h, w = round(math.sqrt(tokens * aspect)), round(math.sqrt(tokens / aspect))
        factor = 2 ** depths.index(tokens) if self.scale_depth else 1
        nh = self.random_divisor(h, self.latent_tile_size * factor, self.swap_size)
        nw = self.random_divisor(w, self.latent_tile_size * factor, self.swap_size)
        if nh * nw > 1:
            q = split_tiles(q, nh, nw, h // nh, w // nw)
            self._tiles = (nh, nw, h, w)
        return q, k, v

    def attn1_output_patch(self, out: torch.Tensor, extra_options: dict[str, Any]) -> torch.Tensor:
        if self._tiles is None:
            return out
        nh, nw, h, w = self._tiles
        self._tiles = None
        return join_tiles(out, nh, nw, h // nh, w // nw)


def split_tiles(x: torch.Tensor, nh: int, nw: int, th: int, tw: int) -> torch.Tensor:
    """[b, (nh·th·nw·tw), c] → [(b·nh·nw), (th·tw), c]: the token grid cut into nh×nw tiles."""
    b, _, c = x.shape
    return x.view(b, nh, th, nw, tw, c).permute(0, 1, 3, 2, 4, 5).reshape(b * nh * nw, th * tw, c)


def join_tiles(x: torch.Tensor, nh: int, nw: int, th: int, tw: int) -> torch.Tensor:
    """The inverse of :func:`split_tiles`."""
    c = x.shape[-1]
    b = x.shape[0] // (nh * nw)
    return x.view(b, nh, nw, th, tw, c).permute(0, 1, 3, 2, 4, 5).reshape(b, nh * th * nw * tw, c)


# -- Kohya deep shrink --------------------------------------------------------------------------------

class DeepShrink:
    """PatchModelAddDownscale: the output of input block ``block_number`` is shrunk by ``downscale_factor``
    while σ is within [sigma_end, sigma_start]; where an output block's hidden state then differs from its
    skip in size, it is resized back."""

    node_name = "PatchModelAddDownscale"

    def __init__(self, block_number: int, downscale_factor: float, sigma_start: float, sigma_end: float,
                 downscale_method: str, upscale_method: str) -> None:
        self.block_number, self.factor = block_number, downscale_factor
        self.sigma_start, self.sigma_end = sigma_start, sigma_end
        self.downscale_method, self.upscale_method = downscale_method, upscale_method

    def input_block_patch(self, h: torch.Tensor, transformer_options: dict[str, Any]) -> torch.Tensor:
        from ...image_utils import common_upscale

        if transformer_options["block"][1] == self.block_number:
            sigma = float(transformer_options["sigmas"][0])
            if self.sigma_end <= sigma <= self.sigma_start:
                h = common_upscale(h, round(h.shape[-1] * (1.0 / self.factor)),
                                   round(h.shape[-2] * (1.0 / self.factor)), self.downscale_method, "disabled")
        return h

    def output_block_patch(self, h: torch.Tensor, hsp: torch.Tensor, transformer_options: dict[str, Any]
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        from ...image_utils import common_upscale

        if h.shape[2] != hsp.shape[2]:
            h = common_upscale(h, hsp.shape[-1], hsp.shape[-2], self.upscale_method, "disabled")
        return h, hsp
