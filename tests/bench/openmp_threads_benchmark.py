#!/usr/bin/python3
"""Intra-op threads and OpenMP's wait policy, on the exported speech models.

Runs tiny FastPitch and wav2vec 2.0 in-process (LibTorch through Debian's
python3-torch, the same OpenMP runtime as the server) at batch 1 and 8, once
per setting, each setting in a fresh process because OpenMP reads its
environment when it loads. With --busy N, N processes spin on the CPU during
every measurement, as the server's own network threads, other instances or
other pods do on shared cores.

usage: /usr/bin/python3 tests/bench/openmp_threads_benchmark.py REPOSITORY
           [--busy N] [--runs N]
REPOSITORY: a model repository with fastpitch/ and wav2vec2/ (for example
bazel-bin/models/repository). Prints one table row per setting, with the
median and p90 milliseconds of each case.
"""

import argparse
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time

SETTINGS = [(1, None), (1, "PASSIVE"), (2, None), (2, "PASSIVE")]


def measure(repository: str, threads: int, runs: int) -> str:
    import torch  # pylint: disable=import-outside-toplevel
    torch.set_num_threads(threads)

    def symbols(batch):
        return lambda rng: (torch.randint(1, 140, (batch, rng.randint(60, 140))),)

    def audio(batch):
        def make(rng):
            samples = rng.randint(16000, 48000)
            return (torch.randn(batch, samples),
                    torch.full((batch,), samples, dtype=torch.int64))
        return make

    cells = []
    for model, make, label in [("fastpitch", symbols(1), "fastpitch b1"),
                               ("fastpitch", symbols(8), "fastpitch b8"),
                               ("wav2vec2", audio(1), "wav2vec2 b1"),
                               ("wav2vec2", audio(8), "wav2vec2 b8")]:
        module = torch.jit.load(f"{repository}/{model}/1/model.pt").eval()
        rng = random.Random(3)
        times = []
        with torch.inference_mode():
            for _ in range(4):  # the profiling executor's first runs
                module(*make(rng))
            for _ in range(runs):
                args = make(rng)
                start = time.perf_counter()
                module(*args)
                times.append(1000 * (time.perf_counter() - start))
        times.sort()
        cells.append(f"{statistics.median(times):.1f} / "
                     f"{times[int(0.9 * len(times))]:.1f}")
        print(f"[openmp-threads] threads={threads} {label} done",
              file=sys.stderr, flush=True)
    return " | ".join(cells)


def spin():
    while True:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repository")
    parser.add_argument("--busy", type=int, default=0)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--child-threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_threads:
        print(measure(args.repository, args.child_threads, args.runs))
        return 0

    spinners = [multiprocessing.Process(target=spin, daemon=True)
                for _ in range(args.busy)]
    for spinner in spinners:
        spinner.start()
    try:
        print(f"| intra-op threads | OMP_WAIT_POLICY | busy processes | "
              f"fastpitch b1 | fastpitch b8 | wav2vec2 b1 | wav2vec2 b8 |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for threads, policy in SETTINGS:
            env = dict(os.environ)
            env.pop("OMP_WAIT_POLICY", None)
            if policy:
                env["OMP_WAIT_POLICY"] = policy
            print(f"[openmp-threads] measuring threads={threads} "
                  f"policy={policy or 'default'}", file=sys.stderr, flush=True)
            row = subprocess.run(
                [sys.executable, __file__, args.repository, "--runs",
                 str(args.runs), "--child-threads", str(threads)],
                env=env, check=True, stdout=subprocess.PIPE,
                text=True).stdout.strip()
            print(f"| {threads} | {policy or 'default (spins)'} | {args.busy} "
                  f"| {row} |", flush=True)
    finally:
        for spinner in spinners:
            spinner.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
