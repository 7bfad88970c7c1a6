#!/usr/bin/env python3
"""Convert CLIP's ``bpe_simple_vocab_16e6.txt.gz`` into HF-style tokenizer files.

Background
----------
OpenAI CLIP (and Stable Diffusion's text encoders, which reuse it) tokenises
text with a byte-level BPE.  The only data the tokenizer needs is a gzipped
list of BPE merge rules, ``bpe_simple_vocab_16e6.txt.gz`` (MIT, originally
published in the openai/CLIP repository; also shipped inside the PyPI package
``open-clip-torch`` as ``open_clip/bpe_simple_vocab_16e6.txt.gz``).

The vocabulary is not stored anywhere; CLIP's ``SimpleTokenizer`` derives it
from the merge list every time it starts.  This script performs the same
derivation once and writes the result in the format that the Hugging Face
``CLIPTokenizer`` loads (``vocab.json`` + ``merges.txt``).

Algorithm
---------
1. Read the gzipped text file as UTF-8 and split it on ``"\\n"``.  Line 0 is a
   header (``#version: 0.2``, possibly preceded by gzip metadata text), so it
   is skipped.  CLIP keeps lines ``[1 : 49152 - 256 - 2 + 1]``, i.e. the first
   48 894 merge rules (49152 target size, minus 256 byte symbols, minus the two
   special tokens, plus one for the skipped header).  Each rule is two
   space-separated symbols, e.g. ``"i n"`` or ``"t h</w>"``.
2. Build the byte-to-unicode table (``bytes_to_unicode``): the 188 printable
   Latin-1 bytes ``!``..``~``, ``¡``..``¬``, ``®``..``ÿ`` map to themselves (in
   that order); the remaining 68 bytes, in increasing byte order, map to
   ``chr(256)``, ``chr(257)``, ...  The table's insertion order is the order
   used for the vocabulary.
3. Vocabulary, in id order:
     * ids     0..255   the 256 byte symbols (table order from step 2);
     * ids   256..511   the same symbols with the end-of-word marker ``</w>``;
     * ids   512..49405 one entry per merge rule: the two symbols concatenated;
     * id  49406        ``<|startoftext|>``;
     * id  49407        ``<|endoftext|>``.
   Total 49 408 entries.
4. ``merges.txt`` is the header line ``#version: 0.2`` followed by the kept
   merge rules, one per line, exactly as they appear in the source file.

Optionally (``--sd-config``) the script also writes ``tokenizer_config.json``
and ``special_tokens_map.json`` matching the Stable Diffusion tokenizer folder
(max length 77, bos ``<|startoftext|>``, eos/unk ``<|endoftext|>``, lower-case).
``--pad-token`` selects the padding token: ``<|endoftext|>`` for SD 1.x / the
first SDXL tokenizer, ``!`` (id 0) for SD 2.x and SDXL's ``tokenizer_2``.

Usage::

    python convert_bpe.py bpe_simple_vocab_16e6.txt.gz OUT_DIR [--sd-config]
        [--pad-token '<|endoftext|>' | --pad-token '!']

Only the Python standard library is required.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys

NUM_MERGES = 49152 - 256 - 2  # 48894 merge rules used by CLIP
BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
MODEL_MAX_LENGTH = 77


def bytes_to_unicode() -> dict[int, str]:
    """Map every byte value to a printable unicode character (CLIP/GPT-2 scheme)."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\u00a1"), ord("\u00ac") + 1))
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    )
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def read_merges(bpe_path: str) -> list[str]:
    """Return the merge rules CLIP uses, as ``"a b"`` strings, from the .txt.gz file."""
    with gzip.open(bpe_path, "rb") as fh:
        lines = fh.read().decode("utf-8").split("\n")
    merges = lines[1 : NUM_MERGES + 1]
    if len(merges) != NUM_MERGES:
        raise ValueError(f"expected {NUM_MERGES} merge lines, found {len(merges)}")
    for n, line in enumerate(merges, start=2):
        if len(line.split()) != 2:
            raise ValueError(f"line {n}: malformed merge rule {line!r}")
    return merges


def build_vocab(merges: list[str]) -> dict[str, int]:
    """Build CLIP's 49408-entry token -> id mapping from the merge rules."""
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols]
    tokens += ["".join(rule.split()) for rule in merges]
    tokens += [BOS, EOS]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    if len(vocab) != len(tokens):
        raise ValueError("duplicate tokens in derived vocabulary")
    return vocab


def sd_configs(pad_token: str) -> tuple[dict, dict]:
    """tokenizer_config.json / special_tokens_map.json for a Stable Diffusion tokenizer folder."""
    tokenizer_config = {
        "add_prefix_space": False,
        "bos_token": BOS,
        "do_lower_case": True,
        "eos_token": EOS,
        "errors": "replace",
        "model_max_length": MODEL_MAX_LENGTH,
        "pad_token": pad_token,
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": EOS,
    }
    special_tokens_map = {
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": pad_token,
        "unk_token": EOS,
    }
    return tokenizer_config, special_tokens_map


def write_json(path: str, obj: dict, indent: int | None = 2) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=indent)
        fh.write("\n")


def convert(bpe_path: str, out_dir: str, sd_config: bool, pad_token: str) -> None:
    merges = read_merges(bpe_path)
    vocab = build_vocab(merges)
    os.makedirs(out_dir, exist_ok=True)

    # vocab.json: one line, ordered by id, non-ASCII kept as UTF-8.
    write_json(os.path.join(out_dir, "vocab.json"), vocab, indent=None)

    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8", newline="\n") as fh:
        fh.write("#version: 0.2\n")
        for rule in merges:
            fh.write(rule + "\n")

    if sd_config:
        if pad_token != EOS and pad_token not in vocab:
            raise ValueError(f"pad token {pad_token!r} is not in the vocabulary")
        tok_cfg, special_map = sd_configs(pad_token)
        write_json(os.path.join(out_dir, "tokenizer_config.json"), tok_cfg)
        write_json(os.path.join(out_dir, "special_tokens_map.json"), special_map)

    print(f"{out_dir}: {len(vocab)} vocab entries, {len(merges)} merges", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bpe", help="path to bpe_simple_vocab_16e6.txt.gz")
    ap.add_argument("out_dir", help="output folder")
    ap.add_argument("--sd-config", action="store_true",
                    help="also write tokenizer_config.json and special_tokens_map.json")
    ap.add_argument("--pad-token", default=EOS,
                    help="padding token for --sd-config (default <|endoftext|>; SD2/SDXL tokenizer_2 use '!')")
    args = ap.parse_args(argv)
    convert(args.bpe, args.out_dir, args.sd_config, args.pad_token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
