#!/usr/bin/env python3
"""Times DeepMind's tracr on the tasks of the tracr comparison in BENCHMARKS.md.

Run with a Python that can `import tracr` (scripts/bench_peers.sh passes
TRACR_PYTHON):

    $TRACR_PYTHON scripts/tracr_peer.py [--inputs 20] [--repeat 3] [--seed 42]
                                         [--write-inputs DIR]

For each task the program is built with tracr's own `rasp` module (written
here from the task's definition) and compiled with
`compiler.compiling.compile_rasp_to_model` --repeat times in this process. The
median is printed, and the first run on its own: most of a first compile is
XLA compiling haiku's parameter initialisers for the model's shapes, which
later compiles of the same task reuse (the first task's also pays JAX's
one-time set-up). The compiled model is run with `model.apply` (un-jitted, as
tracr ships it) on --inputs random inputs of the full max_len, one input per
call, and the median time per call is printed. One call on an extra input
comes first and is not counted (JAX dispatch set-up). Each output is compared
with a plain Python computation of the task and the agreeing inputs are
counted.

Prints a tab-separated table, one row per task, with a header:

    task  vocab  max_len  compile_s  first_compile_s  apply_s  agree  total

With --write-inputs DIR, the inputs used are also written to DIR/TASK.in, one
per line in the input syntax of `rasp run` / `rasp exec`, so the same inputs
can be given to `rasp`.
"""

import argparse
import random
import statistics
import sys
import time

from tracr.compiler import compiling
from tracr.rasp import rasp

BOS = "BOS"
MAX_LEN = 16
LETTERS = ["a", "b", "c"]
NUMBERS = list(range(1, 17))


# The tracr programs. Each takes tracr's `tokens` and returns an s-op.


def histogram_program():
    """At each position, how many positions hold the same token."""
    same = rasp.Select(rasp.tokens, rasp.tokens, rasp.Comparison.EQ)
    return rasp.categorical(rasp.SelectorWidth(same))


def sort_unique_program():
    """Sorts distinct keys: each token moves to the number of smaller tokens."""
    keys = rasp.tokens
    smaller = rasp.Select(keys, keys, rasp.Comparison.LT)
    target = rasp.categorical(rasp.SelectorWidth(smaller))
    # The output position i reads the position whose target is i.
    move = rasp.Select(target, rasp.indices, rasp.Comparison.EQ)
    return rasp.categorical(rasp.Aggregate(move, rasp.tokens))


def reverse_program():
    """Position i reads position length - i - 1."""
    everything = rasp.Select(rasp.tokens, rasp.tokens, rasp.Comparison.TRUE)
    length = rasp.categorical(rasp.SelectorWidth(everything))
    opposite = rasp.categorical(
        rasp.SequenceMap(lambda n, i: n - i - 1, length, rasp.indices))
    flip = rasp.Select(rasp.indices, opposite, rasp.Comparison.EQ)
    return rasp.categorical(rasp.Aggregate(flip, rasp.tokens))


# The same tasks in plain Python, for the check.


def histogram_expected(xs):
    return [xs.count(x) for x in xs]


def sort_unique_expected(xs):
    return sorted(xs)


def reverse_expected(xs):
    return list(reversed(xs))


def random_letters(rng):
    return [rng.choice(LETTERS) for _ in range(MAX_LEN)]


def random_permutation(rng):
    return rng.sample(NUMBERS, MAX_LEN)


def letters_syntax(xs):
    return "".join(xs)


def list_syntax(xs):
    return "[" + ", ".join(str(x) for x in xs) + "]"


# name, vocab, program, expected, input generator, input syntax for rasp
TASKS = [
    ("histogram", LETTERS, histogram_program, histogram_expected,
     random_letters, letters_syntax),
    ("sort_unique", NUMBERS, sort_unique_program, sort_unique_expected,
     random_permutation, list_syntax),
    ("reverse", LETTERS, reverse_program, reverse_expected,
     random_letters, letters_syntax),
]


def vocab_text(vocab):
    return ",".join(str(v) for v in vocab)


def measure(task, args, rng):
    name, vocab, build, expected, generate, syntax = task
    compile_times = []
    model = None
    for _ in range(args.repeat):
        program = build()
        start = time.perf_counter()
        model = compiling.compile_rasp_to_model(
            program, vocab=set(vocab), max_seq_len=MAX_LEN, compiler_bos=BOS)
        compile_times.append(time.perf_counter() - start)

    warm_up = generate(rng)
    model.apply([BOS] + warm_up)

    inputs = [generate(rng) for _ in range(args.inputs)]
    apply_times = []
    agree = 0
    for xs in inputs:
        start = time.perf_counter()
        out = model.apply([BOS] + xs)
        apply_times.append(time.perf_counter() - start)
        if list(out.decoded[1:]) == expected(xs):
            agree += 1

    if args.write_inputs:
        with open(f"{args.write_inputs}/{name}.in", "w") as f:
            for xs in inputs:
                f.write(syntax(xs) + "\n")

    return (name, vocab_text(vocab), MAX_LEN,
            statistics.median(compile_times), compile_times[0],
            statistics.median(apply_times),
            agree, len(inputs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=20,
                        help="random inputs run through each model")
    parser.add_argument("--repeat", type=int, default=3,
                        help="compiles per task (the median is printed)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--write-inputs", metavar="DIR",
                        help="write the inputs used to DIR/TASK.in")
    parser.add_argument("--task", action="append",
                        help="only this task (repeatable)")
    args = parser.parse_args()

    tasks = [t for t in TASKS if not args.task or t[0] in args.task]
    print("\t".join(
        ["task", "vocab", "max_len", "compile_s", "first_compile_s", "apply_s",
         "agree", "total"]))
    for task in tasks:
        rng = random.Random(args.seed)
        row = measure(task, args, rng)
        print("%s\t%s\t%d\t%.4f\t%.4f\t%.6f\t%d\t%d" % row)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
