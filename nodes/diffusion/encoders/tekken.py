"""Mistral's tekken tokenizer, read from the model file: ComfyUI's Mistral 3 files carry the tokenizer's
``tekken.json`` as a uint8 tensor ``tekken_model`` beside the weights, and nothing is shipped or fetched.

Built as ComfyUI builds it (``comfy/text_encoders/flux.py: load_mistral_tokenizer``): a byte-level BPE whose
vocabulary is the tekken ranks offset by the special-token count (``default_num_special_tokens``; ranks past
``default_vocab_size`` dropped), merges recovered from the ranks (each token split into two known tokens, in
rank order), the special tokens (``<s>``, ``[INST]``, ``[SYSTEM_PROMPT]`` …) at their own ranks and matched in
the text, and the text split by Llama 3's pre-tokenizer pattern — ComfyUI's choice, not tekken's own pattern
(the two differ on digits: Llama 3 keeps up to three together). Whole words found in the vocabulary are
taken as they are (tiktoken's rule, ``ignore_merges``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                  r"\s*[\r\n]+|\s+(?!\S)|\s+")


def _byte_chars() -> dict[int, str]:
    """GPT-2's printable stand-in for each byte (byte-level BPE's alphabet)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {byte: chr(char) for byte, char in zip(printable, chars, strict=True)}


class TekkenTokenizer:
    """A tekken.json as a tokenizer answering like transformers' (``tok(text)["input_ids"]``, no start token:
    the recipe adds it, as ComfyUI's SDTokenizer does)."""

    def __init__(self, data: bytes) -> None:
        from tokenizers import AddedToken, Regex, Tokenizer, decoders, pre_tokenizers
        from tokenizers.models import BPE

        tekken = json.loads(data)
        config = tekken["config"]
        offset = int(config["default_num_special_tokens"])
        limit = int(config["default_vocab_size"]) - offset
        chars = _byte_chars()

        def text(token: bytes) -> str:
            return "".join(chars[b] for b in token)

        ranks = {base64.b64decode(entry["token_bytes"]): int(entry["rank"]) for entry in tekken["vocab"]
                 if int(entry["rank"]) < limit}
        merges: list[tuple[int, bytes, bytes]] = []
        for token, rank in ranks.items():
            splits = [(token[:i], token[i:]) for i in range(1, len(token)) if token[:i] in ranks and token[i:] in ranks]
            splits.sort(key=lambda pair: (ranks[pair[0]], ranks[pair[1]]))
            merges += [(rank, left, right) for left, right in splits]
        merges.sort(key=lambda merge: merge[0])
        vocab = {text(token): rank + offset for token, rank in ranks.items()}
        specials = [(int(entry["rank"]), str(entry["token_str"])) for entry in tekken["special_tokens"]]
        for rank, name in specials:
            vocab[name] = rank
        tokenizer = Tokenizer(BPE(vocab, [(text(left), text(right)) for _, left, right in merges], fuse_unk=False,
                                  ignore_merges=True))
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        tokenizer.decoder = decoders.ByteLevel()
        tokenizer.add_special_tokens([AddedToken(name, special=True) for _, name in sorted(specials)])
        self.tokenizer = tokenizer
        self.size = int(config["default_vocab_size"])

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": list(self.tokenizer.encode(text, add_special_tokens=False).ids)}

    def decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=False))

    def __len__(self) -> int:
        return self.size


def from_tensor(serialized: Any) -> TekkenTokenizer:
    """The tokenizer of a ``tekken_model`` tensor (uint8, the JSON's bytes)."""
    import torch

    return TekkenTokenizer(serialized.to(torch.uint8).flatten().cpu().numpy().tobytes())
