"""ComfyUI's ``comfy.sd.CLIP`` over an Inkgraph CLIP handle.

``tokenize(text)`` gives ComfyUI's token dict — one list of weighted 77-token chunks per encoder, keyed as
ComfyUI keys them (``"l"``, ``"g"``, ``"h"``, ``"t5xxl"``) — and ``encode_from_tokens`` /
``encode_from_tokens_scheduled`` encode it with the CLIP's recipe, exactly as the built-in CLIPTextEncode
does: each chunk list remembers the text it came from, so a pack that tokenizes and encodes (or combines
``clip.tokenize(a)["l"]`` with ``clip.tokenize(b)["g"]``, as CLIPTextEncodeSDXL does) gets the built-in
node's CONDITIONING. Chunks a pack edited are encoded as they are for the Stable Diffusion encoders; for
the other recipes that raises an error naming ComfyUI's function. ``clone``, ``clip_layer``,
``set_tokenizer_option`` and ``add_patches`` change the facade, which becomes a new handle when the node
returns it.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..stubs import Unavailable, UnavailableAttribute

SLOT_KEYS = {"clip_l": "l", "clip_g": "g", "clip_h": "h", "t5xxl": "t5xxl"}
T5_MIN_LENGTH = {"flux": 256, "sd3": 77, "chroma": 1}
SD_RECIPES = ("stable_diffusion", "sdxl")


class TokenList(list):  # type: ignore[type-arg]
    """One encoder's chunks, remembering the text and slot they were made from."""

    text: str = ""
    slot: str = ""
    made: list[list[tuple[Any, float]]] | None = None

    def unchanged(self) -> bool:
        return self.made is not None and [list(chunk) for chunk in self] == self.made


def _unavailable(method: str, why: str) -> Unavailable:
    return Unavailable(f"ComfyUI's comfy.sd.CLIP.{method} is not available in Inkgraph yet ({why})")


class ClipTokenizer:
    """``clip.tokenizer``: ComfyUI's ``tokenize_with_weights``."""

    def __init__(self, clip: CLIP) -> None:
        self._clip = clip

    def tokenize_with_weights(self, text: str, return_word_ids: bool = False, **kwargs: Any) -> dict[str, Any]:
        return self._clip.tokenize(text, return_word_ids, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise UnavailableAttribute(f"ComfyUI's comfy.sd.CLIP.tokenizer.{name} is not available in Inkgraph yet")


class CLIP:
    """ComfyUI's CLIP: a text encoder set with a recipe (CLIPLoader's type), a layer and tokenizer options."""

    def __init__(self, target: Any = None, embedding_directory: Any = None, no_init: bool = False,
                 **kwargs: Any) -> None:
        if not no_init:
            raise Unavailable("ComfyUI's comfy.sd.CLIP(target, …) is not available in Inkgraph yet (a node built a "
                              "text encoder from ComfyUI's model classes); load one with comfy.sd.load_clip")
        self._handle: Any = None
        self.layer_idx: int | None = None
        self.tokenizer_options: dict[str, Any] = {}
        self.use_clip_schedule = False
        self.apply_hooks_to_conds = None
        self._loras: list[Any] = []
        self.tokenizer = ClipTokenizer(self)

    @classmethod
    def of(cls, handle: Any) -> CLIP:
        clip = cls(no_init=True)
        clip._handle = handle
        clip.layer_idx = handle.layer
        clip.tokenizer_options = dict(handle.tokenizer_options)
        return clip

    def handle(self) -> Any:
        handle = self._handle
        if self.layer_idx != handle.layer:
            handle = handle.at_layer(self.layer_idx) if self.layer_idx is not None else handle
        if self.tokenizer_options != dict(handle.tokenizer_options):
            from dataclasses import replace

            handle = replace(handle, tokenizer_options=tuple(self.tokenizer_options.items()))
        for lora in self._loras:
            handle = handle.with_lora(lora)
        return handle

    def __inkgraph_value__(self) -> Any:
        return self.handle()

    # -- ComfyUI's methods ------------------------------------------------------------------------------

    def clone(self, *args: Any, **kwargs: Any) -> CLIP:
        n = CLIP.of(self._handle)
        n.layer_idx = self.layer_idx
        n.tokenizer_options = dict(self.tokenizer_options)
        n._loras = list(self._loras)
        n.use_clip_schedule = self.use_clip_schedule
        return n

    def __deepcopy__(self, memo: dict[int, Any]) -> CLIP:
        return self.clone()

    def clip_layer(self, layer_idx: int) -> None:
        self.layer_idx = layer_idx

    def set_tokenizer_option(self, option_name: str, value: Any) -> None:
        self.tokenizer_options[option_name] = value

    def add_patches(self, patches: dict[Any, Any], strength_patch: float = 1.0, strength_model: float = 1.0
                    ) -> list[Any]:
        from inkgraph.nodes.diffusion.handles import Lora

        from ._weights import weight_patch_file

        file, used = weight_patch_file(self.handle(), patches, strength_model)
        if used:
            self._loras.append(Lora(file, ("add_patches", uuid.uuid4().hex), strength_patch))
        return used

    def add_lora(self, lora: Any) -> None:
        self._loras.append(lora)

    def get_key_patches(self) -> dict[str, list[Any]]:
        def identity(a: Any, **kwargs: Any) -> Any:
            return a

        return {k: [(v, identity)] for k, v in self.get_sd().items()}

    def get_sd(self) -> dict[str, Any]:
        from ._weights import state_dict_of

        return state_dict_of(self.handle())

    def load_model(self, tokens: Any = None) -> Any:
        return self.patcher

    @property
    def patcher(self) -> Any:
        from .model_patcher import ModelPatcher

        patcher = ModelPatcher(None, _device(self._handle), _device(None))
        patcher.is_clip = True
        return patcher

    def tokenize(self, text: str, return_word_ids: bool = False, **kwargs: Any) -> dict[str, Any]:
        if return_word_ids:
            raise _unavailable("tokenize(return_word_ids=True)", "Inkgraph's chunks carry no word ids")
        from inkgraph.nodes.diffusion.encoders import EncodeRequest
        from inkgraph.nodes.diffusion.encoders.prompt import chunks_for

        from ._sampling import context

        handle = self.handle()
        options = {**self.tokenizer_options, **dict(kwargs.get("tokenizer_options") or {})}
        request = EncodeRequest(context().folders, [], options)
        out: dict[str, Any] = {}
        with handle.by_slot() as encoders:
            for slot, rules in _slot_rules(handle).items():
                chunks = chunks_for(encoders[slot], text, rules, request)
                tokens = TokenList([list(chunk) for chunk in chunks])
                tokens.text, tokens.slot, tokens.made = text, slot, [list(chunk) for chunk in chunks]
                out[SLOT_KEYS.get(slot, slot)] = tokens
        return out

    def _conditioning(self, tokens: dict[str, Any], options: dict[str, Any] | None = None) -> list[list[Any]]:
        """The recipe's CONDITIONING for a token dict (texts when the chunks are as tokenize made them)."""
        import torch

        from inkgraph.nodes.diffusion.encoders import EncodeRequest, recipe

        from ._sampling import context

        handle = self.handle()
        by_key = {SLOT_KEYS.get(s, s): s for s in handle.slot_names()}
        chosen = recipe(handle.recipe)
        request = EncodeRequest(context().folders, [], {**dict(handle.tokenizer_options), **(options or {})})
        lists = {by_key.get(k, k): v for k, v in tokens.items() if by_key.get(k, k) in handle.slot_names()}
        unchanged = all(isinstance(v, TokenList) and v.unchanged() for v in lists.values())
        with handle.by_slot() as encoders, torch.inference_mode():
            if unchanged:
                texts = {slot: v.text for slot, v in lists.items()}
                if len(set(texts.values())) == 1 and set(texts) == set(handle.slot_names()):
                    return chosen.encode(encoders, next(iter(texts.values())), handle.layer, request)  # type: ignore[no-any-return]
                return chosen.encode_texts(encoders, texts, handle.layer, request)  # type: ignore[no-any-return]
            if handle.recipe not in SD_RECIPES:
                raise _unavailable("encode_from_tokens", "token chunks changed after tokenize, for the "
                                   f"{handle.recipe} text encoders; only Stable Diffusion's encode edited chunks")
            return _encode_sd_chunks(handle, encoders, lists)

    def encode_from_tokens(self, tokens: dict[str, Any], return_pooled: bool | str = False,
                           return_dict: bool = False) -> Any:
        entries = self._conditioning(tokens)
        cond, options = entries[0][0], dict(entries[0][1])
        pooled = options.pop("pooled_output", None)
        if return_pooled == "unprojected" and self.handle().recipe not in ("flux", "chroma"):
            raise _unavailable("encode_from_tokens(return_pooled='unprojected')",
                               f"the {self.handle().recipe} recipe pools its projected output")
        if return_dict:
            return {"cond": cond, "pooled_output": pooled, **options}
        return (cond, pooled) if return_pooled else cond

    def encode_from_tokens_scheduled(self, tokens: dict[str, Any], unprojected: bool = False,
                                     add_dict: dict[str, Any] | None = None, show_pbar: bool = True) -> list[list[Any]]:
        """CONDITIONING as CLIPTextEncode makes it, with ``add_dict`` merged into each entry's options."""
        if unprojected and self.handle().recipe not in ("flux", "chroma"):
            raise _unavailable("encode_from_tokens_scheduled(unprojected=True)",
                               f"the {self.handle().recipe} recipe pools its projected output")
        return [[cond, {**options, **(add_dict or {})}] for cond, options in self._conditioning(tokens)]

    def encode(self, text: str) -> Any:
        return self.encode_from_tokens(self.tokenize(text))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_handle":
            raise AttributeError(name)
        raise UnavailableAttribute(f"ComfyUI's comfy.sd.CLIP.{name} is not available in Inkgraph yet (Inkgraph's "
                                   "text encoders are transformers modules)")

    def __repr__(self) -> str:
        return f"<CLIP over Inkgraph's {self._handle.recipe} text encoders>" if self._handle is not None else "<CLIP>"


def _device(handle: Any) -> Any:
    import torch

    if handle is None or handle.device == "cpu":
        return torch.device("cpu")
    return torch.device(handle.manager.policy.device)


def _slot_rules(handle: Any) -> dict[str, Any]:
    """The tokenizer rules of each encoder slot of a CLIP, as its recipe tokenizes."""
    from inkgraph.nodes.diffusion.encoders.t5 import t5_rules
    from inkgraph.nodes.diffusion.text import END, clip_rules

    slots = handle.slot_names()
    if handle.recipe in SD_RECIPES:
        return dict(zip(slots, [spec.rules() for spec in _sd_specs(handle)[1]], strict=True))
    rules = {}
    for slot in slots:
        if slot == "t5xxl":
            rules[slot] = t5_rules(T5_MIN_LENGTH.get(handle.recipe, 77))
        else:
            rules[slot] = clip_rules(END if slot == "clip_l" else 0, slot)
    return rules


def _sd_specs(handle: Any) -> tuple[str, list[Any]]:
    from inkgraph.nodes.diffusion.encoders.sd import mode
    from inkgraph.nodes.diffusion.text import encoder_specs

    kind, order = mode(handle.slot_names())
    if list(order) != list(handle.slot_names()):
        raise _unavailable("tokenize", "the encoders are in an order Inkgraph does not expect")
    return kind, encoder_specs(kind, handle.layer)


def _encode_sd_chunks(handle: Any, encoders: dict[str, Any], lists: dict[str, Any]) -> list[list[Any]]:
    """Stable Diffusion's encoding of given chunks (text.encode_texts without tokenizing)."""
    import torch

    from inkgraph.nodes.diffusion.text import encode

    kind, specs = _sd_specs(handle)
    parts, pooled = [], None
    for slot, spec in zip(handle.slot_names(), specs, strict=True):
        chunks = [[(t[0], float(t[1])) for t in chunk] for chunk in lists[slot]]
        z, p = encode(encoders[slot], spec, chunks)
        parts.append(z)
        pooled = p if spec.pooled else pooled
    if len(parts) > 1:
        cut = min(part.shape[1] for part in parts)
        embedding = torch.cat([part[:, :cut] for part in parts], dim=-1)
    else:
        embedding = parts[0]
    return [[embedding, {"pooled_output": pooled} if pooled is not None else {}]]
