"""Converts a published checkpoint into a Triton-layout model repository entry.

    /usr/bin/python3 models/export/convert/convert_checkpoint.py \
        --model fastpitch|hifigan|wav2vec2 --checkpoint FILE \
        --layout dle|fairseq|hf --out DIR \
        [--torchscript script|trace] [--dtype fp32|fp16] \
        [--instance-kind cpu|gpu] [--plain-triton] [--ema] [--config JSON] \
        [--quick]

writes DIR/<model>/config.pbtxt and DIR/<model>/1/model.pt as
make_repository.py does, with the checkpoint's weights instead of seeded
random ones, and prints one line. Layouts: fastpitch and hifigan `dle`
(NVIDIA DeepLearningExamples), wav2vec2 `fairseq` or `dle` (fairseq's
Wav2VecCtc names, which DeepLearningExamples keeps) or `hf` (Hugging Face
Wav2Vec2ForCTC; FILE may be the model folder). Sizes come from the
checkpoint's shapes and saved settings; --config names a JSON of settings
(default: a config.json beside FILE). --ema takes the averaged weights where
the checkpoint kept them.

--torchscript script (default) compiles the module; trace records one run
on a padded example batch and is then checked against the module on other
batch sizes and lengths; a model whose control flow depends on its data
(FastPitch: the number of mel frames comes from the predicted durations) is
refused. A trace also fixes the device and dtype it ran with, so a GPU or
fp16 trace is made on the GPU.

The saved file is loaded back and compared with the module on inputs of
several lengths; the exit status is 1 when they differ by more than float
rounding or when make_repository's checks (timing, padded batches; --quick
skips them) fail, and 2, with the reason, when the checkpoint cannot be
converted (nothing is written then).
"""

import argparse
import os
import sys
import time
import warnings
from typing import Callable, List, Optional, Sequence, Tuple

import torch

# The converters beside this file, and the exporters (our modules, make_repository) one up.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import alphabets  # noqa: E402
import checkpoints  # noqa: E402
import fastpitch  # noqa: E402
import fastpitch_checkpoint  # noqa: E402
import make_repository  # noqa: E402
import wav2vec2  # noqa: E402
import wav2vec2_checkpoint  # noqa: E402
from checkpoints import CheckpointError  # noqa: E402
from common import (ModelSpec, plain_triton, render_config,  # noqa: E402
                    torch_dtype)

Inputs = Tuple[torch.Tensor, ...]

# How far the saved TorchScript may be from the module, relative to the
# largest output magnitude: float rounding of other kernels, not more. On a
# GPU, cuDNN may pick other algorithms (TF32 convs) from call to call.
RELATIVE_TOLERANCE = {("cpu", torch.float32): 1e-4,
                      ("cuda", torch.float32): 1e-3,
                      ("cuda", torch.float16): 1e-2}


def _tolerance(module: torch.nn.Module) -> float:
    p = next(module.parameters())
    return RELATIVE_TOLERANCE.get((p.device.type, p.dtype), 1e-2)


class Adapter:
    """What converting one model needs (hifigan's is in hifigan_checkpoint)."""

    layouts: Sequence[str] = ()
    # Why tracing cannot capture this model, or None when it can.
    trace_blocker: Optional[str] = None

    def build(self, ckpt: checkpoints.Checkpoint, layout: str):
        """(module with the checkpoint's weights, its config)."""
        raise NotImplementedError

    def spec(self, cfg, dtype: str, plain: bool) -> ModelSpec:
        raise NotImplementedError

    def wrap(self, module: torch.nn.Module, plain: bool) -> torch.nn.Module:
        return module

    def example(self, cfg, plain: bool) -> Inputs:
        """A padded batch to trace with."""
        raise NotImplementedError

    def checks(self, cfg, plain: bool) -> List[Inputs]:
        """Other batch sizes and lengths to compare on."""
        raise NotImplementedError

    def note(self, cfg) -> str:
        return ""


class FastPitchAdapter(Adapter):
    layouts = ("dle",)
    trace_blocker = (
        "the number of mel frames comes from the predicted durations "
        "(regulate_length reads it with .item()), so a trace would replay "
        "the example's frame count for every input")

    def build(self, ckpt, layout):
        cfg = fastpitch_checkpoint.infer_config(ckpt)
        module = fastpitch.FastPitch(cfg)
        checkpoints.apply(module, fastpitch_checkpoint.mapping(cfg), ckpt,
                          ignore=fastpitch_checkpoint.ignored)
        return module, cfg

    def spec(self, cfg, dtype, plain):
        spec = fastpitch_checkpoint.spec_for(cfg, dtype)
        return plain_triton(spec) if plain else spec

    def _text(self, cfg, lengths: Sequence[int], seed: int) -> Inputs:
        gen = torch.Generator().manual_seed(seed)
        text = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
        for i, n in enumerate(lengths):
            text[i, :n] = torch.randint(1, cfg.n_symbols, (n,), generator=gen)
        return (text,)

    def example(self, cfg, plain):
        return self._text(cfg, [29, 17], seed=1)

    def checks(self, cfg, plain):
        return [self._text(cfg, [23], seed=2),
                self._text(cfg, [31, 12, 5], seed=3)]

    def note(self, cfg):
        return (f"{cfg.n_symbols} symbols, {cfg.in_fft_layers}+"
                f"{cfg.out_fft_layers} layers of {cfg.d_model}")


class Wav2Vec2Adapter(Adapter):
    layouts = ("fairseq", "dle", "hf")

    def build(self, ckpt, layout):
        lay = wav2vec2_checkpoint.layout(layout)
        cfg = wav2vec2_checkpoint.infer_config(ckpt, lay)
        module = wav2vec2.Wav2Vec2ForCTC(cfg)
        checkpoints.apply(module, wav2vec2_checkpoint.mapping(cfg, lay),
                          ckpt, ignore=wav2vec2_checkpoint.ignored(lay))
        return module, cfg

    def spec(self, cfg, dtype, plain):
        return wav2vec2_checkpoint.spec_for(cfg, dtype, plain)

    def wrap(self, module, plain):
        return wav2vec2.Wav2Vec2Unpadded(module).eval() if plain else module

    def _audio(self, lengths: Sequence[int], seed: int,
               plain: bool) -> Inputs:
        audio = torch.zeros(len(lengths), max(lengths))
        for i, n in enumerate(lengths):
            audio[i, :n] = wav2vec2.random_audio(1, n, seed=seed + i)[0]
        if plain:
            return (audio,)
        return (audio, torch.tensor([[n] for n in lengths]))

    def example(self, cfg, plain):
        return self._audio([20000] if plain else [20000, 13000], 1, plain)

    def checks(self, cfg, plain):
        if plain:
            return [self._audio([16000], 3, True),
                    self._audio([9000] * 3, 4, True)]
        return [self._audio([16000], 3, False),
                self._audio([31999, 9000, 400], 4, False)]

    def note(self, cfg):
        return (f"{cfg.n_layers} layers of {cfg.d_model}, {cfg.n_heads} "
                f"heads, {cfg.n_classes} classes")


def _adapter(name: str) -> Adapter:
    if name == "fastpitch":
        return FastPitchAdapter()
    if name == "wav2vec2":
        return Wav2Vec2Adapter()
    if name == "hifigan":
        try:
            import hifigan_checkpoint
        except ImportError as e:
            raise CheckpointError(f"hifigan is not available: {e}")
        return hifigan_checkpoint.Adapter()
    raise CheckpointError(f"unknown model {name}")


def _on(inputs: Inputs, device: torch.device, dtype: torch.dtype) -> Inputs:
    return tuple(t.to(device=device, dtype=dtype) if t.is_floating_point()
                 else t.to(device) for t in inputs)


def compare(converted: Callable, module: torch.nn.Module,
            inputs: List[Inputs]) -> Tuple[float, List[str]]:
    """(worst relative difference, problems) of converted vs module."""
    worst, problems = 0.0, []
    tolerance = _tolerance(module)
    # no_grad, not inference_mode: a TorchScript module first run with
    # autograd on fails under inference_mode.
    with torch.no_grad():
        for args in inputs:
            got, want = converted(*args), module(*args)
            got = got if isinstance(got, tuple) else (got,)
            want = want if isinstance(want, tuple) else (want,)
            shape = [list(a.shape) for a in args]
            for i, (g, w) in enumerate(zip(got, want)):
                if g.shape != w.shape or g.dtype != w.dtype:
                    problems.append(f"inputs {shape}: output {i} is "
                                    f"{list(g.shape)} {g.dtype}, the module "
                                    f"gives {list(w.shape)} {w.dtype}")
                    continue
                if w.numel() == 0:
                    continue
                diff = float((g.double() - w.double()).abs().max())
                scale = float(w.double().abs().max()) or 1.0
                worst = max(worst, diff / scale)
                if diff / scale > tolerance:
                    problems.append(
                        f"inputs {shape}: output {i} differs by {diff:.3g} "
                        f"(relative {diff / scale:.2g})")
    return worst, problems


def to_torchscript(name: str, adapter: Adapter, module: torch.nn.Module,
                   cfg, mode: str, plain: bool, device: torch.device,
                   dtype: torch.dtype):
    """`module` compiled (script) or traced and checked on other lengths."""
    if mode == "script":
        return torch.jit.script(module)
    if adapter.trace_blocker is not None:
        raise CheckpointError(f"{name} cannot be traced: "
                              f"{adapter.trace_blocker}; use --torchscript "
                              f"script")
    example = _on(adapter.example(cfg, plain), device, dtype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", torch.jit.TracerWarning)
        with torch.inference_mode(False), torch.no_grad():
            traced = torch.jit.trace(module, example, check_trace=False)
    checks = [_on(c, device, dtype) for c in adapter.checks(cfg, plain)]
    _, problems = compare(traced, module, checks)
    if problems:
        tracer = sorted({str(w.message).split("\n")[0] for w in caught
                         if issubclass(w.category, torch.jit.TracerWarning)})
        raise CheckpointError(
            f"the trace of {name} does not generalise beyond its example:\n  "
            + "\n  ".join(problems + [f"tracer: {t}" for t in tracer])
            + "\n  use --torchscript script")
    return traced


def run(argv: Sequence[str]) -> int:
    """Parses `argv` (without the program name) and converts; returns the
    exit status. Byte-identical output across processes needs
    PYTHONHASHSEED=0, which main() ensures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True,
                        choices=["fastpitch", "hifigan", "wav2vec2"])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--layout", required=True,
                        choices=["dle", "fairseq", "hf"])
    parser.add_argument("--out", required=True, help="repository directory")
    parser.add_argument("--torchscript", choices=["script", "trace"],
                        default="script")
    parser.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32")
    parser.add_argument("--instance-kind", choices=["cpu", "gpu"],
                        default="gpu", help="where instances run (default: "
                        "gpu, as make_repository's full size)")
    parser.add_argument("--plain-triton", action="store_true",
                        help="a config without this server's variable-length "
                             "batching, as make_repository --plain-triton")
    parser.add_argument("--ema", action="store_true",
                        help="the averaged (EMA) weights, where kept")
    parser.add_argument("--config", help="JSON of model settings (default: "
                        "config.json beside the checkpoint)")
    parser.add_argument("--quick", action="store_true",
                        help="skip make_repository's timing and padded-batch "
                             "checks; the saved file is still compared with "
                             "the module")
    args = parser.parse_args(argv)
    try:
        return convert(args)
    except CheckpointError as e:
        print(f"convert_checkpoint: {e}", file=sys.stderr)
        return 2


def convert(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    adapter = _adapter(args.model)
    if args.layout not in adapter.layouts:
        raise CheckpointError(f"{args.model} layouts are "
                              f"{', '.join(adapter.layouts)}; not "
                              f"{args.layout}")
    dtype = torch_dtype(args.dtype)
    cuda = torch.cuda.is_available()
    # A trace records the device and dtype it ran with: make it where the
    # model will run. A script is the same everywhere.
    on_gpu = cuda and (args.instance_kind == "gpu" or args.dtype == "fp16")
    if args.torchscript == "trace" and (
            args.instance_kind == "gpu" or args.dtype == "fp16") and not cuda:
        raise CheckpointError(
            "a GPU or fp16 trace must be made on a GPU (a trace fixes the "
            "device and dtype of the tensors it creates, and this CPU build "
            "has no fp16 kernels); use --torchscript script, or "
            "--instance-kind cpu --dtype fp32")
    device = torch.device("cuda" if on_gpu else "cpu")

    ckpt = checkpoints.load(args.checkpoint, prefer_ema=args.ema,
                            config_path=args.config)
    torch.manual_seed(0)   # Module construction draws; all is overwritten.
    module, cfg = adapter.build(ckpt, args.layout)
    module = adapter.wrap(module.eval(), args.plain_triton)
    module = module.to(device=device, dtype=dtype)
    spec = adapter.spec(cfg, args.dtype, args.plain_triton)
    spec.instance_kind = "KIND_GPU" if args.instance_kind == "gpu" else (
        "KIND_CPU")
    # fp16 runs on a GPU only (a trace without one was refused above).
    runnable = args.dtype == "fp32" or on_gpu
    converted = to_torchscript(args.model, adapter, module, cfg,
                               args.torchscript, args.plain_triton, device,
                               dtype)

    model_dir = os.path.join(args.out, args.model)
    os.makedirs(os.path.join(model_dir, "1"), exist_ok=True)
    with open(os.path.join(model_dir, "config.pbtxt"), "w") as f:
        f.write(render_config(spec))
    path = os.path.join(model_dir, "1", "model.pt")
    torch.jit.save(converted, path)

    notes = [adapter.note(cfg), f"weights from '{ckpt.container}'"
             if ckpt.container else "flat state dict"]
    labels = checkpoints.find_setting(ckpt.meta, "output_labels")
    if (args.model == "wav2vec2" and isinstance(labels, list)
            and labels != alphabets.CTC_LABELS):
        print(f"warning: the checkpoint's output_labels ({len(labels)}) are "
              f"not alphabets.CTC_LABELS, which the asr pipeline's CTC "
              f"decoder reads", file=sys.stderr)
    ok = True
    if runnable:
        reloaded = torch.jit.load(path, map_location=device)
        checks = [_on(c, device, dtype)
                  for c in adapter.checks(cfg, args.plain_triton)]
        worst, problems = compare(reloaded, module, checks)
        notes.append(f"saved file vs module: max relative diff {worst:.1e}")
        if problems:
            ok = False
            print("saved file differs from the module:\n  "
                  + "\n  ".join(problems), file=sys.stderr)
        if not args.quick and device.type == "cpu" and (
                args.model != "fastpitch" or cfg.n_symbols == 148):
            more, passed = make_repository._check(
                args.model, torch.jit.load(path), args.dtype,
                args.plain_triton)
            notes += more
            ok = ok and passed
    else:
        notes.append("not run: fp16 needs a GPU")
    params = sum(p.numel() for p in module.parameters())
    print(f"{args.model:<10} {args.layout}/{args.torchscript}/{args.dtype}  "
          f"{params / 1e6:7.3f} M params  {os.path.getsize(path) / 1e6:8.3f} "
          f"MB  {time.perf_counter() - start:5.1f} s  "
          + "  ".join(n for n in notes if n), flush=True)
    return 0 if ok else 1


def main() -> int:
    make_repository._pin_hash_seed()
    return run(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
