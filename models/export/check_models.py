"""Loads every DIR/<model>/1/model.pt and runs one sample input through it.

    /usr/bin/python3 models/export/check_models.py DIR

A human sanity check: it prints each model's input and output shapes and
dtypes, picking sample inputs from the names and types in config.pbtxt so it
also works on repositories it did not write. Inputs the server builds from
the batch (`batch_input`, e.g. wav2vec2's AUDIO_LENGTHS) are made here from
the samples as the server would, after the configured inputs.
"""

import os
import re
import sys
from typing import List, Optional, Tuple, Union

import torch

_DTYPES = {"TYPE_FP32": torch.float32, "TYPE_FP16": torch.float16,
           "TYPE_INT32": torch.int32, "TYPE_INT64": torch.int64,
           "TYPE_STRING": None}   # BYTES: List[str] in TorchScript.


def _inputs_from_config(text: str) -> List[Tuple[str, torch.dtype,
                                                 List[int]]]:
    """(name, dtype, dims) of each input, read with a regex, not protobuf."""
    block = text.split("output", 1)[0]
    found = re.findall(r'name:\s*"(\w+)"\s*data_type:\s*(\w+)\s*'
                       r'dims:\s*\[([^\]]*)\]', block)
    return [(n, _DTYPES[t], [int(d) for d in dims.split(",")])
            for n, t, dims in found]


def _batch_inputs_from_config(text: str) -> List[Tuple[str, str, torch.dtype,
                                                       str]]:
    """(target_name, kind, dtype, source_input) of each batch_input."""
    block = re.search(r"^batch_input\s*\[(.*?)^\]", text, re.S | re.M)
    if block is None:
        return []
    found = []
    for item in re.findall(r"\{([^{}]*)\}", block.group(1)):
        def field(pattern: str) -> str:
            match = re.search(pattern, item)
            assert match, f"batch_input without {pattern}: {item}"
            return match.group(1)
        found.append((field(r'target_name:\s*\[?\s*"(\w+)"'),
                      field(r"kind:\s*(\w+)"),
                      _DTYPES[field(r"data_type:\s*(\w+)")],
                      field(r'source_input:\s*\[?\s*"(\w+)"')))
    return found


def _batch_input(kind: str, dtype: torch.dtype,
                 source: torch.Tensor) -> torch.Tensor:
    """What the server passes for an unpadded batch of `source`."""
    rows, item = source.shape[0], list(source.shape[1:])
    if kind == "BATCH_ELEMENT_COUNT":
        count = 1
        for d in item:
            count *= d
        return torch.full((rows, 1), count, dtype=dtype)
    if kind == "BATCH_ITEM_SHAPE":
        return torch.tensor([item] * rows, dtype=dtype)
    raise ValueError(f"batch_input kind {kind} is not supported")


def _sample(model_name: str, dtype: Optional[torch.dtype],
            dims: List[int]) -> Union[torch.Tensor, List[str]]:
    # Variable dims get a size that means something for the model at hand:
    # 1 s of 16 kHz audio, a 50-symbol sentence, 1 s of mel, otherwise 10.
    fill = {"wav2vec2": 16000, "fastpitch": 50, "hifigan": 86}.get(
        model_name, 10)
    shape = [2] + [fill if d < 0 else d for d in dims]
    if dtype is None:    # Strings: a sentence for the front-end, else "1".
        count = 1
        for d in shape:
            count *= d
        text = "Dr. Smith paid $5.50." if model_name == "tts_frontend" else "1"
        return [text] * count
    gen = torch.Generator().manual_seed(0)
    if dtype.is_floating_point:
        return (0.1 * torch.randn(shape, generator=gen)).to(dtype)
    high = 148 if model_name == "fastpitch" else 100
    return torch.randint(1, high, shape, generator=gen).to(dtype)


def _describe(t: Union[torch.Tensor, List[str]]) -> str:
    if isinstance(t, list):
        return f"[{len(t)}] str"
    return f"{list(t.shape)} {str(t.dtype).replace('torch.', '')}"


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    root = sys.argv[1]
    failures = 0
    for name in sorted(os.listdir(root)):
        config = os.path.join(root, name, "config.pbtxt")
        path = os.path.join(root, name, "1", "model.pt")
        if not (os.path.isfile(config) and os.path.isfile(path)):
            continue
        with open(config) as f:
            text = f.read()
        specs = _inputs_from_config(text)
        inputs = [_sample(name, dtype, dims) for _, dtype, dims in specs]
        names = [n for n, _, _ in specs]
        for target, kind, dtype, source in _batch_inputs_from_config(text):
            inputs.append(_batch_input(kind, dtype,
                                       inputs[names.index(source)]))
            names.append(target)
        shown = ", ".join(f"{n} {_describe(x)}"
                          for n, x in zip(names, inputs))
        try:
            with torch.inference_mode():
                out = torch.jit.load(path)(*inputs)
        except RuntimeError as e:
            # Typically fp16 weights on a CPU-only torch build.
            failures += 1
            reason = [l for l in str(e).splitlines() if l.strip()][-1]
            print(f"{name}: {shown} -> FAILED: {reason.strip()}")
            continue
        outs = out if isinstance(out, tuple) else (out,)
        print(f"{name}: {shown} -> " + ", ".join(_describe(o) for o in outs))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
