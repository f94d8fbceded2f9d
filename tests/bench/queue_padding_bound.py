#!/usr/bin/python3
"""The least padding a batch of the oldest queued request can have, with N requests queued.

speech_batching_benchmark.sh's closed loop of C clients and one instance leaves at most C - 1
requests queued when the instance asks for work. Whatever the policy, a batch of k rows that
holds the oldest of them is padded at least as much as the best choice of k - 1 companions
among them. This draws the queue from a set's lengths (the benchmark's `short.index` or
`long.index`, kept with --out=DIR: tab-separated name, samples, ...) and prints that least padding
(padded over real samples, before buckets) per batch size, so that a measured padding can be read
against what the queue allows.

usage: tests/bench/queue_padding_bound.py INDEX [--queued=15] [--draws=4000] [--seed=1]
"""
import argparse
import random
import sys


def least_padding(lengths, start, rows):
    """The smallest padded/real ratio of a batch of `rows` of `lengths` that holds `start`.

    For a batch whose longest item is M, the padding rows * M / sum - 1 is least when the other
    rows are the longest of those no longer than M (not necessarily neighbours of `start`), so
    each candidate M is tried with those.
    """
    others = sorted(lengths)
    others.remove(start)
    best = None
    for top in range(len(others) + 1):
        # Companions: the rows - 1 longest of the others up to others[top - 1].
        if top < rows - 1:
            continue
        chosen = others[top - (rows - 1):top]
        longest = max([start] + chosen)
        padding = rows * longest / (start + sum(chosen)) - 1
        best = padding if best is None else min(best, padding)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("index")
    parser.add_argument("--queued", type=int, default=15)
    parser.add_argument("--draws", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with open(args.index) as index:
        lengths = [int(line.split("\t")[1]) for line in index if line.strip()]
    if len(lengths) < args.queued or args.queued < 2:
        sys.exit(f"queue_padding_bound.py: --queued must be in [2, {len(lengths)}] (the set's "
                 f"size); was {args.queued}")
    rng = random.Random(args.seed)
    print(f"{len(lengths)} lengths, {min(lengths)} to {max(lengths)} samples; {args.queued} "
          f"queued, {args.draws} draws")
    print("| rows | least padding of a batch holding the oldest (mean) |")
    print("| --- | --- |")
    rows = 2
    while rows <= args.queued:
        total = 0.0
        for _ in range(args.draws):
            queue = rng.sample(lengths, args.queued)
            total += least_padding(queue, queue[0], rows)
        print(f"| {rows} | {total / args.draws:.3f} |")
        rows *= 2


if __name__ == "__main__":
    main()
