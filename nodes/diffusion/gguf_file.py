"""Reading GGUF files as ComfyUI-GGUF users have them (``flux1-dev-Q4_K_S.gguf``, ``sdxl-Q8_0.gguf`` …),
through the ``gguf`` package's reader.

Two things differ from safetensors. GGUF lists a tensor's dimensions innermost first (ggml's ``ne``), so
the torch shape is the reverse — unless ComfyUI-GGUF's converter flattened the tensor into 256-wide rows
so that it could be quantized (SD1/SDXL convolutions), in which case the original shape is in the
metadata key ``comfy.gguf.orig_shape.<name>``. And quantized tensors are runs of blocks: they are read as
:class:`QuantizedTensor` (raw bytes, type, shape), so a loaded model keeps the file's size; float tensors
(F32, F16, BF16) become ordinary tensors, cast as safetensors tensors are.

Keys are the model's own (an SD UNet's LDM keys, Flux's BFL keys), with ``model.diffusion_model.`` usually
stripped by the converter; families recognise them exactly as in a safetensors file. Text encoders
converted by llama.cpp (T5 ``enc.blk.N.attn_q``, Qwen ``blk.N.attn_q``) are renamed to their transformers
names here.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .ggml_blocks import PLAIN, QUANTIZED
from .gguf_tensor import QuantizedTensor

if TYPE_CHECKING:
    from gguf import GGUFReader

    from .state_dict import CastRule, TensorIndex

log = logging.getLogger(__name__)

ORIG_SHAPE = "comfy.gguf.orig_shape."  # ComfyUI-GGUF's record of a tensor it reshaped before quantizing
SHORT_ARRAY = 64  # metadata arrays up to this length are kept in the index (tokenizer vocabularies are not)

# llama.cpp names text encoders' tensors its own way ("blk.3.attn_q.weight"); GGUF text encoders
# (city96's t5-v1_1-xxl-encoder-gguf, unsloth's Qwen3-4B-GGUF …) get back their transformers names here,
# segment by segment. (Llama-architecture files would also need llama.cpp's q/k row permutation undone:
# not done, so they are not renamed.)
T5_LAYERS = {
    "attn_q": "layer.0.SelfAttention.q", "attn_k": "layer.0.SelfAttention.k", "attn_v": "layer.0.SelfAttention.v",
    "attn_o": "layer.0.SelfAttention.o", "attn_rel_b": "layer.0.SelfAttention.relative_attention_bias",
    "attn_norm": "layer.0.layer_norm", "ffn_gate": "layer.1.DenseReluDense.wi_0",
    "ffn_up": "layer.1.DenseReluDense.wi_1", "ffn_down": "layer.1.DenseReluDense.wo", "ffn_norm": "layer.1.layer_norm",
}
T5_TOP = {"token_embd": "shared", "enc.output_norm": "encoder.final_layer_norm"}
QWEN_LAYERS = {
    "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm",
    "attn_k_norm": "self_attn.k_norm", "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
}
QWEN_TOP = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}


def _llama_cpp_names(blocks: str, renamed_blocks: str, layers: dict[str, str], top: dict[str, str]
                     ) -> Callable[[str], str]:
    def rename(key: str) -> str:
        stem, dot, leaf = key.rpartition(".")  # leaf: weight / bias
        if stem.startswith(blocks):
            number, _, name = stem[len(blocks):].partition(".")
            if number.isdigit() and name in layers:
                return f"{renamed_blocks}{number}.{layers[name]}{dot}{leaf}"
        return f"{top[stem]}{dot}{leaf}" if stem in top else key

    return rename


_QWEN = _llama_cpp_names("blk.", "model.layers.", QWEN_LAYERS, QWEN_TOP)
KEY_MAPS: dict[str, Callable[[str], str]] = {
    "t5": _llama_cpp_names("enc.blk.", "encoder.block.", T5_LAYERS, T5_TOP),
    "qwen2": _QWEN, "qwen2vl": _QWEN, "qwen3": _QWEN,
}
KEY_MAPS["t5encoder"] = KEY_MAPS["t5"]


def _type_name(type_id: int) -> str:
    if type_id in QUANTIZED:
        return QUANTIZED[type_id].name
    if type_id in PLAIN:
        return PLAIN[type_id][0]
    from gguf import GGMLQuantizationType

    try:
        return GGMLQuantizationType(type_id).name
    except ValueError:
        return f"type id {type_id}"


def _unsupported(path: Path, name: str, type_id: int, others: int = 0) -> Exception:
    from .state_dict import ModelFileError

    more = f"; {others} more tensors use types Inkgraph cannot read" if others else ""
    supported = ", ".join([fmt.name for fmt in QUANTIZED.values()] + [n for n, _ in PLAIN.values()])
    return ModelFileError(f"{path.name}: tensor {name!r} is stored as {_type_name(type_id)}, a GGML type Inkgraph "
                          f"cannot dequantize (supported: {supported}){more}")


_READERS: OrderedDict[tuple[str, int, int], GGUFReader] = OrderedDict()
_READERS_LOCK = threading.Lock()  # models load on worker threads
READERS_KEPT = 2  # a file is indexed, then read: parsing a text encoder's vocabulary twice costs seconds


def open_reader(path: Path) -> GGUFReader:
    """The ``gguf`` package's reader of ``path`` (memory-mapped), reused while the file is unchanged; a
    clear error for what it cannot read, naming the tensor when its type is one the package does not know."""
    try:
        stat = path.stat()
    except OSError as exc:
        from .state_dict import ModelFileError

        raise ModelFileError(f"{path.name} cannot be read as GGUF: {exc}") from exc
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _READERS_LOCK:
        if key in _READERS:
            _READERS.move_to_end(key)
            return _READERS[key]
    reader = _open(path)
    with _READERS_LOCK:
        _READERS[key] = reader
        while len(_READERS) > READERS_KEPT:
            _READERS.popitem(last=False)
    return reader


def _open(path: Path) -> GGUFReader:
    from gguf import GGMLQuantizationType, GGUFReader

    from .state_dict import ModelFileError

    known = {int(t) for t in GGMLQuantizationType}

    class Reader(GGUFReader):
        def _build_tensors(self, start_offs: int, fields: list[Any]) -> None:
            for field in fields:  # name the tensor before the package fails on a type it does not know
                parts: Any = getattr(field, "parts", ())
                if len(parts) == 6 and int(parts[4][0]) not in known:
                    raise _unsupported(path, bytes(parts[1]).decode("utf-8", "replace"), int(parts[4][0]))
            super()._build_tensors(start_offs, fields)

    try:
        return Reader(str(path))
    except ModelFileError:
        raise
    except (OSError, ValueError, IndexError, KeyError) as exc:
        raise ModelFileError(f"{path.name} cannot be read as GGUF: {exc}") from exc


def _metadata(reader: GGUFReader) -> dict[str, str]:
    from gguf import GGUFValueType

    found: dict[str, str] = {}
    for name, field in reader.fields.items():
        if not field.types or name.startswith(ORIG_SHAPE):
            continue
        if field.types[0] == GGUFValueType.ARRAY:
            if len(field.data) <= SHORT_ARRAY:
                found[name] = json.dumps(field.contents())
        else:
            found[name] = str(field.contents())
    return found


def _renames(reader: GGUFReader) -> Callable[[str], str]:
    """How this file's tensor names become the model's key names (unchanged but for llama.cpp's text
    encoders)."""
    field = reader.get_field("general.architecture")
    arch = str(field.contents()) if field is not None else ""
    return KEY_MAPS.get(arch, str)


def _shape(reader: GGUFReader, tensor: Any) -> torch.Size:
    field = reader.get_field(ORIG_SHAPE + tensor.name)
    if field is not None:
        return torch.Size(int(v) for v in field.contents())
    return torch.Size(int(v) for v in reversed(tensor.shape.tolist()))


def index(path: Path) -> TensorIndex:
    """Key → logical shape and type name (``Q4_K``, ``F16`` …) of every tensor, from the header alone."""
    from .state_dict import TensorIndex, TensorInfo

    reader = open_reader(path)
    renames = _renames(reader)
    infos = {renames(t.name): TensorInfo(tuple(_shape(reader, t)), _type_name(int(t.tensor_type)))
             for t in reader.tensors}
    return TensorIndex(infos, _metadata(reader))


def read(path: Path, keys: Callable[[str], bool] | None = None, cast: CastRule | None = None, strip: str = ""
         ) -> tuple[dict[str, Any], dict[str, str]]:
    """The tensors of a GGUF file whose (renamed) key passes ``keys``, ``strip`` removed from their front:
    float ones as tensors passed through ``cast``, quantized ones as :class:`QuantizedTensor` (copied out of
    the memory map, so the file is not held open). An unsupported type is an error naming the tensor."""
    reader = open_reader(path)
    renames = _renames(reader)
    named = [(renames(t.name), t) for t in reader.tensors]
    chosen = [(key, t) for key, t in named if keys is None or keys(key)]
    bad = [(key, int(t.tensor_type)) for key, t in chosen
           if int(t.tensor_type) not in QUANTIZED and int(t.tensor_type) not in PLAIN]
    if bad:
        raise _unsupported(path, bad[0][0], bad[0][1], len(bad) - 1)
    tensors: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for key, tensor in chosen:
        type_id = int(tensor.tensor_type)
        shape = _shape(reader, tensor)
        with warnings.catch_warnings():  # the copy below makes it writable
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            data = torch.from_numpy(np.array(tensor.data, copy=True))
        name = key[len(strip):] if strip and key.startswith(strip) else key
        if type_id in QUANTIZED:
            tensors[name] = QuantizedTensor(data.reshape(-1, data.shape[-1]), type_id, shape)
        else:
            value = data.view(PLAIN[type_id][1]).reshape(shape)
            tensors[name] = cast(key, value) if cast is not None else value
        counts[_type_name(type_id)] = counts.get(_type_name(type_id), 0) + 1
    log.info("%s: %s", path.name, ", ".join(f"{count} {name}" for name, count in sorted(counts.items())))
    return tensors, _metadata(reader)
