"""The shipped CLIP tokenizer files give OpenAI CLIP's ids, offline."""

from __future__ import annotations

from pathlib import Path

TOKENIZER = Path(__file__).resolve().parents[2] / "nodes" / "diffusion" / "configs" / "clip_tokenizer"


def test_known_ids() -> None:
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(str(TOKENIZER), local_files_only=True)
    assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert len(tokenizer) == 49408
    assert tokenizer("café").input_ids == [49406, 15304, 49407]
