#!/usr/bin/env python3
"""By hand: the Python package's `Model.to_transformer_lens()` against
`Model.exec` on random inputs, for sort, histogram, Dyck-2 and frac_prevs.

    scripts/python_tests.sh ~/tl3 3.9.0      # installs rasp into the venv
    ~/tl3/bin/python scripts/python_tl_check.py [--samples 1000] [--max-len 32]

Each model runs through TransformerLens (a HookedTransformer with 3.x, a
TransformerBridge with 4.x) in padded batches of mixed lengths, with and
without TransformerLens' weight processing; the outputs must equal exec's
exactly (the same values of the same types). Exit status 1 on any
disagreement.
"""

import argparse
import importlib.metadata
import random
import sys
import time
from pathlib import Path

import rasp
import rasp.transformer_lens as tl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TASKS = [
    ("sort", "sort.rasp", ["a", "b", "c"]),
    ("histogram", "histogram.rasp", ["a", "b", "c"]),
    ("dyck2", "dyck2.rasp", ["(", ")", "{", "}"]),
    ("frac_prevs", "frac_prevs.rasp", ["x", "a", "b"]),
]


def same(a, b):
    """Equal values of equal types, lists item by item."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--max-len", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    versions = {p: importlib.metadata.version(p) for p in ("transformer_lens", "torch")}
    print(f"transformer_lens {versions['transformer_lens']}, torch {versions['torch']}")
    failed = False
    for name, file, vocab in TASKS:
        started = time.monotonic()
        model = rasp.Program.load(EXAMPLES / file).compile(vocab, args.max_len)
        rng = random.Random(args.seed)
        inputs = [[rng.choice(vocab) for _ in range(rng.randint(1, args.max_len))] for _ in range(args.samples)]
        want = model.exec(inputs)
        for process in (False, True):
            tl_model = model.to_transformer_lens(process_weights=process)
            got = tl.run(model, tl_model, inputs, batch_size=100)
            agree = sum(same(w, g) for w, g in zip(want, got))
            failed |= agree != len(inputs)
            how = ", weights processed" if process else ""
            print(
                f"{name} (max_len {args.max_len}{how}): {agree} of {len(inputs)} agree "
                f"({type(tl_model).__name__}, {time.monotonic() - started:.1f} s)"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
