"""Writes a Triton-layout model repository of TorchScript models.

    /usr/bin/python3 models/export/make_repository.py --out DIR \
        [--size tiny|full] [--dtype fp32|fp16] \
        [--models identity,simple,fastpitch,wav2vec2] [--plain-triton]

produces DIR/<model>/config.pbtxt and DIR/<model>/1/model.pt for each model
and prints one line per model. Weights come from fixed seeds, so repeated runs
write the same weights. Each saved file is loaded back and run before its line
is printed, so a line means "this file works", not just "this file exists".
Models that take padded batches are also run on items alone and padded
together; the exit status is 1 when an item's outputs differ by more than
float rounding (common.PADDED_RELATIVE_TOLERANCE). Runs are byte-for-byte
reproducible (see _pin_hash_seed).

--plain-triton writes configs without this server's variable-length batching
(Triton's own behaviour: only requests of the same shape batch), for
benchmarks against it; wav2vec2 then takes AUDIO alone.
"""

import argparse
import os
import sys
import time
from typing import Callable, Dict, List, Tuple

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fastpitch  # noqa: E402
import simple_models  # noqa: E402
import wav2vec2  # noqa: E402
from common import (ModelSpec, median_ms, plain_triton,  # noqa: E402
                    render_config)

ALL_MODELS = [
    "identity", "simple", "simple_string", "simple_identity", "fastpitch", "wav2vec2"]


Builder = Callable[[], Tuple[torch.jit.ScriptModule, ModelSpec]]


def _plain(build: Builder) -> Builder:
    def wrapped() -> Tuple[torch.jit.ScriptModule, ModelSpec]:
        model, spec = build()
        return model, plain_triton(spec)
    return wrapped


def _builders(size: str, dtype: str, plain: bool) -> Dict[str, Builder]:
    builders = {
        "identity": simple_models.build_identity,
        "simple": simple_models.build_simple,
        "simple_string": simple_models.build_simple_string,
        "simple_identity": simple_models.build_simple_identity,
        "fastpitch": lambda: fastpitch.build(size, dtype),
        "wav2vec2": lambda: wav2vec2.build(size, dtype),
    }
    if not plain:
        return builders
    builders = {name: _plain(build) for name, build in builders.items()}
    # Without the server's lengths input its module takes audio alone.
    builders["wav2vec2"] = lambda: wav2vec2.build_plain_triton(size, dtype)
    return builders


def _check(name: str, model: torch.jit.ScriptModule, dtype: str,
           plain: bool) -> Tuple[List[str], bool]:
    """Runs the reloaded model; returns (notes for its progress line, ok).

    ok is false when its padded-batch check (where it has one) failed.
    """
    if dtype == "fp16" and name in ("fastpitch", "wav2vec2"):
        # This torch build has no fp16 CPU kernels (conv, linear, layer norm).
        return ["not run: fp16 needs a GPU"], True
    notes = []
    padded = None
    with torch.inference_mode():
        if name == "identity":
            x = torch.randn(4, 10)
            assert torch.equal(model(x), x)
            notes.append(f"{median_ms(lambda: model(x)):.3f} ms [4,10]")
        elif name == "simple_identity":
            strings = ["he\x00llo", "", "x" * 100]
            assert model(strings) == strings
            notes.append(f"{median_ms(lambda: model(strings)):.3f} ms [1,3]")
        elif name == "simple_string":
            a = [str(i) for i in range(32)]
            b = ["1"] * 32
            sums, differences = model(a, b)
            assert sums == [str(i + 1) for i in range(32)]
            assert differences == [str(i - 1) for i in range(32)]
            notes.append(f"{median_ms(lambda: model(a, b)):.3f} ms [2,16]")
        elif name == "simple":
            a = torch.arange(32, dtype=torch.int32).view(2, 16)
            b = torch.ones(2, 16, dtype=torch.int32)
            out0, out1 = model(a, b)
            assert torch.equal(out0, a + b) and torch.equal(out1, a - b)
            notes.append(f"{median_ms(lambda: model(a, b)):.3f} ms [2,16]")
        elif name == "fastpitch":
            # Fresh text, not the calibration text, so the figure is honest.
            text = fastpitch.random_text(32, 64, seed=99)
            durations = model(text)[2]
            notes.append(f"frames/symbol {durations.mean().item():.2f}")
            one = fastpitch.random_text(1, 128, seed=5)
            mel = model(one)[0]
            notes.append(f"{median_ms(lambda: model(one)):.1f} ms "
                         f"[1,128] symbols -> mel {list(mel.shape)}")
            # The module is the same with either config.
            padded = fastpitch.padded_batch_check(model)
        elif name == "wav2vec2":
            audio = wav2vec2.random_audio(1, 16000, seed=3)
            args = [audio] if plain else [audio,
                                          wav2vec2.full_lengths(audio)]
            logits, frames = model(*args)
            n = wav2vec2.frames_for(16000)
            assert logits.shape[1] == n and int(frames[0, 0]) == n
            notes.append(f"{median_ms(lambda: model(*args)):.1f} ms "
                         f"1 s audio -> logits {list(logits.shape)}")
            if plain:
                notes.append("padded batch not used (plain Triton)")
            else:
                padded = wav2vec2.padded_batch_check(model)
    if padded is not None:
        notes.append(f"padded batch {padded}")
    return notes, padded is None or padded.ok


def _pin_hash_seed() -> None:
    """Re-executes this script with PYTHONHASHSEED=0 unless already set.

    TorchScript serialises each module's `__constants__` set in iteration
    order, which follows Python's per-process string hashing; without a fixed
    seed the saved code (not the weights) changes order from run to run and
    model.pt files are not byte-identical.
    """
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def main() -> int:
    _pin_hash_seed()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="repository directory")
    parser.add_argument("--size", choices=["tiny", "full"], default="tiny")
    parser.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32",
                        help="fp16 applies to fastpitch and wav2vec2 only")
    parser.add_argument("--models", default=",".join(ALL_MODELS),
                        help="comma-separated subset of " + ",".join(ALL_MODELS))
    parser.add_argument("--instance-kind", choices=["cpu", "gpu"],
                        help="where instances run (default: cpu for tiny, "
                             "gpu for full)")
    parser.add_argument("--plain-triton", action="store_true",
                        help="configs without ragged_padding, constraints, "
                             "batch_input and batch_output (Triton's own "
                             "batching of same-shape requests only)")
    args = parser.parse_args()
    kind = args.instance_kind or ("gpu" if args.size == "full" else "cpu")

    names = [n for n in args.models.split(",") if n]
    unknown = sorted(set(names) - set(ALL_MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}; known: {ALL_MODELS}")

    builders = _builders(args.size, args.dtype, args.plain_triton)
    failed = []
    for name in names:
        start = time.perf_counter()
        model, spec = builders[name]()
        spec.instance_kind = "KIND_GPU" if kind == "gpu" else "KIND_CPU"
        model_dir = os.path.join(args.out, name)
        os.makedirs(os.path.join(model_dir, "1"), exist_ok=True)
        with open(os.path.join(model_dir, "config.pbtxt"), "w") as f:
            f.write(render_config(spec))
        path = os.path.join(model_dir, "1", "model.pt")
        torch.jit.save(model, path)
        notes, ok = _check(name, torch.jit.load(path), args.dtype,
                           args.plain_triton)
        if not ok:
            failed.append(name)
        params = sum(p.numel() for p in model.parameters())
        mb = os.path.getsize(path) / 1e6
        print(f"{name:<10} {args.size}/{args.dtype}  {params / 1e6:7.3f} M "
              f"params  {mb:8.3f} MB  {time.perf_counter() - start:5.1f} s  "
              + "  ".join(notes), flush=True)
    if failed:
        print(f"padded-batch check failed for {', '.join(failed)}: an "
              f"item's outputs depend on what it is batched with",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
