"""Writes a Triton-layout model repository of TorchScript models.

    /usr/bin/python3 models/export/make_repository.py --out DIR \
        [--size tiny|full] [--dtype fp32|fp16] \
        [--models identity,simple,...,tts,asr] [--plain-triton]

produces DIR/<model>/config.pbtxt and DIR/<model>/1/model.pt for each model
and prints one line per model. Weights come from fixed seeds, so repeated runs
write the same weights. Each saved file is loaded back and run before its line
is printed, so a line means "this file works", not just "this file exists".
Models that take padded batches are also run on items alone and padded
together; the exit status is 1 when an item's outputs differ by more than
float rounding (common.PADDED_RELATIVE_TOLERANCE). Runs are byte-for-byte
reproducible (see _pin_hash_seed).

The ensembles `tts` (tts_frontend -> fastpitch -> hifigan) and `asr`
(wav2vec2 -> ctc_decoder) get DIR/<name>/config.pbtxt and an empty version
directory, which holds one empty file, DIR/<name>/1/.keep, so that build
systems that track files (Bazel's genrule) can name it. Their wiring is
checked against the step models' configs, and when the step models are in
DIR their chains run in Python, requests together and one by one.

--plain-triton writes configs without this server's variable-length batching
(Triton's own behaviour: only requests of the same shape batch), for
benchmarks against it; wav2vec2 then takes AUDIO alone. The speech pipeline
models and ensembles rely on variable-length batching between their steps,
so --plain-triton leaves them out.
"""

import argparse
import os
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ctc_decoder  # noqa: E402
import fastpitch  # noqa: E402
import hifigan  # noqa: E402
import pipelines  # noqa: E402
import simple_models  # noqa: E402
import text_frontend  # noqa: E402
import wav2vec2  # noqa: E402
from common import (ModelSpec, ensemble_problems, median_ms,  # noqa: E402
                    plain_triton, render_config, render_ensemble_config,
                    torch_dtype)

# In dependency order: a model's self-check may run the models before it.
ALL_MODELS = [
    "identity", "simple", "simple_string", "simple_identity", "fastpitch", "wav2vec2",
    "tts_frontend", "hifigan", "ctc_decoder", "tts", "asr"]
# The speech pipelines: left out by --plain-triton (see the module comment).
PIPELINE_MODELS = ["tts_frontend", "hifigan", "ctc_decoder", "tts", "asr"]
# String processing: CPU instances whatever the size.
CPU_ONLY_MODELS = ["tts_frontend", "ctc_decoder"]


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
        "tts_frontend": text_frontend.build,
        "hifigan": lambda: hifigan.build(size, dtype),
        "ctc_decoder": lambda: ctc_decoder.build(dtype),
    }
    if not plain:
        return builders
    builders = {name: _plain(build) for name, build in builders.items()
                if name not in PIPELINE_MODELS}
    # Without the server's lengths input its module takes audio alone.
    builders["wav2vec2"] = lambda: wav2vec2.build_plain_triton(size, dtype)
    return builders


def _check(name: str, model: torch.jit.ScriptModule, dtype: str,
           plain: bool,
           models: Optional[Dict[str, torch.jit.ScriptModule]] = None
           ) -> Tuple[List[str], bool]:
    """Runs the reloaded model; returns (notes for its progress line, ok).

    ok is false when its padded-batch check (where it has one) failed.
    `models` holds the models saved so far, for checks whose inputs come
    from another model (hifigan's mel from fastpitch, ctc_decoder's logits
    from wav2vec2); without them those use random inputs.
    """
    if name in ("tts_frontend", "hifigan", "ctc_decoder"):
        if plain:
            return ["not run: pipeline models need variable-length "
                    "batching"], True
        return _check_pipeline_model(name, model, dtype, models or {})
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


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _quick_median_ms(fn: Callable[[], object]) -> float:
    """median_ms with fewer repeats when one call takes long (full sizes on
    a CPU)."""
    start = time.perf_counter()
    with torch.inference_mode():
        fn()
    slow = time.perf_counter() - start > 0.25
    return median_ms(fn, repeats=3 if slow else 20)


def _check_pipeline_model(name: str, model: torch.jit.ScriptModule,
                          dtype: str,
                          models: Dict[str, torch.jit.ScriptModule]
                          ) -> Tuple[List[str], bool]:
    notes = []
    padded = None
    with torch.inference_mode():
        if name == "tts_frontend":
            for text in text_frontend.SAMPLE_TEXTS:
                ids, dropped = model.encode(text)
                print(f"  {text!r}\n    -> {model.clean(text)[0]!r} "
                      f"({len(ids)} symbols, {dropped} dropped)", flush=True)
            ok, note = text_frontend.batched_check(model)
            texts = text_frontend.SAMPLE_TEXTS * 2
            notes.append(f"{median_ms(lambda: model(texts)):.1f} ms "
                         f"{len(texts)} sentences")
            notes.append(("batched ok " if ok else "batched FAILED ") + note)
            return notes, ok
        if name == "hifigan":
            if dtype == "fp16":
                return ["not run: fp16 needs a GPU"], True
            if "fastpitch" in models:
                frontend = models.get("tts_frontend")
                if frontend is None:
                    frontend = text_frontend.build()[0]
                symbols, counts, _ = frontend([text_frontend.SAMPLE_TEXTS[0]])
                out = models["fastpitch"](symbols[:, :int(counts[0, 0])])
                mel = out[0][:, :, :int(out[1][0])]
                source = "fastpitch's mel of sample 0"
            else:
                mel = hifigan.random_mel(200, seed=21)
                source = "a random mel (fastpitch not exported)"
            shape = hifigan.item_shape(mel)
            audio = model(mel, shape)[0]
            notes.append(f"{_quick_median_ms(lambda: model(mel, shape)):.1f} ms "
                         f"{source} {list(mel.shape)} -> "
                         f"{audio.shape[1] / hifigan.SAMPLE_RATE:.2f} s audio")
            second = hifigan.random_mel(37, seed=22)
            padded = hifigan.padded_batch_check(model, [mel, second])
        elif name == "ctc_decoder":
            clips = [wav2vec2.random_audio(1, 16000, seed=31),
                     wav2vec2.random_audio(1, 23456, seed=32)]
            if "wav2vec2" in models and dtype == "fp32":
                items = [models["wav2vec2"](c, wav2vec2.full_lengths(c))[0]
                         for c in clips]
                source = "wav2vec2's logits"
            else:
                gen = torch.Generator().manual_seed(33)
                items = [torch.randn(1, wav2vec2.frames_for(c.shape[1]), 32,
                                     generator=gen).to(
                                         torch_dtype(dtype)) for c in clips]
                source = "random logits"
            shape = ctc_decoder.item_shape(items[0])
            transcript = model(items[0], shape)[0]
            notes.append(f"{median_ms(lambda: model(items[0], shape)):.2f} ms "
                         f"{source} {list(items[0].shape)} -> "
                         f"{_shorten(transcript)!r}")
            padded = ctc_decoder.padded_batch_check(model, items)
    notes.append(f"padded batch {padded}")
    return notes, padded.ok


def _write_ensemble(name: str, out_dir: str, dtype: str) -> Tuple[
        List[str], bool]:
    """Writes an ensemble's config and version directory; checks its wiring
    and, when its step models are in out_dir, runs its chain."""
    spec = pipelines.ENSEMBLES[name](dtype)
    model_dir = os.path.join(out_dir, name)
    os.makedirs(os.path.join(model_dir, "1"), exist_ok=True)
    with open(os.path.join(model_dir, "config.pbtxt"), "w") as f:
        f.write(render_ensemble_config(spec))
    open(os.path.join(model_dir, "1", ".keep"), "w").close()
    notes = [" -> ".join(step.model_name for step in spec.steps)]
    problems = ensemble_problems(spec, pipelines.step_specs(dtype))
    if problems:
        return notes + ["wiring FAILED: " + "; ".join(problems)], False
    notes.append("wiring ok")
    paths = {step.model_name: os.path.join(out_dir, step.model_name, "1",
                                           "model.pt")
             for step in spec.steps}
    missing = [m for m, p in paths.items() if not os.path.isfile(p)]
    if missing:
        return notes + [f"chain not run: {missing} not in {out_dir}"], True
    if dtype == "fp16":
        return notes + ["chain not run: fp16 needs a GPU"], True
    models = {m: torch.jit.load(p) for m, p in paths.items()}
    if name == "tts":
        texts = text_frontend.SAMPLE_TEXTS
        check, audios = pipelines.tts_check(models, texts)
        if check.ok:
            start = time.perf_counter()
            pipelines.tts_chain(models, texts[:1])
            notes.append(f"{1000 * (time.perf_counter() - start):.0f} ms "
                         f"text -> {audios[0].shape[1] / hifigan.SAMPLE_RATE:.2f}"
                         f" s audio")
        notes.append(f"together vs alone {check}")
        return notes, check.ok
    # asr: speech from the tts chain when its models are there too.
    source = "random audio"
    clips = [wav2vec2.random_audio(1, 16000, seed=41),
             wav2vec2.random_audio(1, 27000, seed=42)]
    tts_paths = [os.path.join(out_dir, m, "1", "model.pt")
                 for m in ("tts_frontend", "fastpitch", "hifigan")]
    if all(os.path.isfile(p) for p in tts_paths):
        tts_models = {m: torch.jit.load(p) for m, p in zip(
            ("tts_frontend", "fastpitch", "hifigan"), tts_paths)}
        spoken = pipelines.tts_chain(tts_models, text_frontend.SAMPLE_TEXTS[:2])
        clips = [pipelines.to_16k(audio) for _, audio in spoken]
        source = "tts audio of samples 0-1 at 16 kHz"
    check, transcripts = pipelines.asr_check(models, clips)
    seconds = [round(c.shape[1] / pipelines.WAV2VEC2_SAMPLE_RATE, 2)
               for c in clips]
    notes.append(f"{source} {seconds} s -> {_shorten(transcripts[0])!r}")
    notes.append(f"together vs alone {check}")
    return notes, check.ok


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
                        help="fp16 applies to fastpitch, wav2vec2 and hifigan "
                             "(and the tensors between the steps)")
    parser.add_argument("--models",
                        help="comma-separated subset of " + ",".join(ALL_MODELS)
                        + " (default: all; with --plain-triton all but "
                        + ",".join(PIPELINE_MODELS) + ")")
    parser.add_argument("--instance-kind", choices=["cpu", "gpu"],
                        help="where instances run (default: cpu for tiny, "
                             "gpu for full; tts_frontend and ctc_decoder, "
                             "which handle strings, always cpu)")
    parser.add_argument("--plain-triton", action="store_true",
                        help="configs without ragged_padding, constraints, "
                             "batch_input and batch_output (Triton's own "
                             "batching of same-shape requests only)")
    args = parser.parse_args()
    kind = args.instance_kind or ("gpu" if args.size == "full" else "cpu")

    names = [n for n in (args.models or ",".join(
        n for n in ALL_MODELS
        if not (args.plain_triton and n in PIPELINE_MODELS))).split(",") if n]
    unknown = sorted(set(names) - set(ALL_MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}; known: {ALL_MODELS}")
    if args.plain_triton and set(names) & set(PIPELINE_MODELS):
        parser.error(f"--plain-triton leaves out {PIPELINE_MODELS}: they "
                     f"need variable-length batching between their steps")

    builders = _builders(args.size, args.dtype, args.plain_triton)
    failed = []
    saved: Dict[str, torch.jit.ScriptModule] = {}
    for name in names:
        start = time.perf_counter()
        if name in pipelines.ENSEMBLES:
            notes, ok = _write_ensemble(name, args.out, args.dtype)
            if not ok:
                failed.append(name)
            print(f"{name:<10} ensemble  {time.perf_counter() - start:5.1f} s  "
                  + "  ".join(notes), flush=True)
            continue
        model, spec = builders[name]()
        cpu = kind == "cpu" or name in CPU_ONLY_MODELS
        spec.instance_kind = "KIND_CPU" if cpu else "KIND_GPU"
        model_dir = os.path.join(args.out, name)
        os.makedirs(os.path.join(model_dir, "1"), exist_ok=True)
        with open(os.path.join(model_dir, "config.pbtxt"), "w") as f:
            f.write(render_config(spec))
        path = os.path.join(model_dir, "1", "model.pt")
        torch.jit.save(model, path)
        reloaded = torch.jit.load(path)
        notes, ok = _check(name, reloaded, args.dtype, args.plain_triton,
                           saved)
        saved[name] = reloaded
        if not ok:
            failed.append(name)
        params = sum(p.numel() for p in model.parameters())
        mb = os.path.getsize(path) / 1e6
        print(f"{name:<10} {args.size}/{args.dtype}  {params / 1e6:7.3f} M "
              f"params  {mb:8.3f} MB  {time.perf_counter() - start:5.1f} s  "
              + "  ".join(notes), flush=True)
    if failed:
        print(f"check failed for {', '.join(failed)}: an item's outputs "
              f"depend on what it is batched with, or an ensemble's wiring "
              f"is wrong (see its line)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
