#!/usr/bin/env python3
"""Check a compiled model three ways on the same inputs: `rasp exec` against
`rasp run` of the program, and the NumPy forward pass of docs/FORMAT.md
against `rasp exec`.

    python scripts/numpy_check.py model.safetensors program.rasp --samples 1000 [--sop NAME]

Outputs compare exactly: the same values of the same types, floats bit for
bit, except that a whole number may be an int on one side and a float on the
other (a numerical output does not carry the difference; docs/FORMAT.md). A
raw numerical output compares within twice its bound. Needs NumPy.
Exit status: 0 when everything agrees, 1 otherwise.
"""

import argparse
import json
import random
import struct
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def numpy_pass():
    """The functions of the first python block of docs/FORMAT.md."""
    doc = (ROOT / "docs" / "FORMAT.md").read_text()
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    scope = {}
    exec(compile(code, "docs/FORMAT.md", "exec"), scope)
    return scope


def same(a, b, bound=None):
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, bound) for x, y in zip(a, b))
    if bound is not None:
        return abs(a - b) <= 2 * bound
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    # An int and a float (or two ints): equal whole numbers.
    return float(a) == float(b) and float(a).is_integer()


def outputs(args, inputs):
    text = "".join(json.dumps(i) + "\n" for i in inputs)
    done = subprocess.run(args, input=text, capture_output=True, text=True)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    if len(lines) != len(inputs):
        sys.exit(f"{args[:3]}: {len(lines)} lines for {len(inputs)} inputs\n{done.stderr}")
    return [line.get("output", line.get("error")) for line in lines]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("program", type=Path)
    parser.add_argument("--sop")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rasp", default="rasp")
    args = parser.parse_args()

    p = numpy_pass()
    w, config, record = p["load"](str(args.model))
    vocab = [v for v in record["vocab"]]
    rng = random.Random(args.seed)
    inputs = [[rng.choice(vocab) for _ in range(rng.randint(1, record["max_len"]))] for _ in range(args.samples)]
    sop = ["--sop", args.sop] if args.sop else []
    executed = outputs([args.rasp, "exec", str(args.model), "--json"], inputs)
    ran = outputs([args.rasp, "run", str(args.program), "--json"] + sop, inputs)
    bound = record["output"].get("bound") if record["output"].get("decode") == "raw" else None
    exec_run = numpy_exec = 0
    for tokens, e, r in zip(inputs, executed, ran):
        n = p["run"](w, config, record, tokens)
        if same(e, r, bound):
            exec_run += 1
        else:
            print(f"input {tokens}: rasp run {r}, rasp exec {e}")
        if same(n, e, bound):
            numpy_exec += 1
        else:
            print(f"input {tokens}: rasp exec {e}, NumPy {n}")
    print(
        f"{args.model}: {record['sop']}, {record['dtype']}, {len(inputs)} inputs: "
        f"exec = run on {exec_run}, NumPy = exec on {numpy_exec}"
    )
    return 0 if exec_run == numpy_exec == len(inputs) else 1


if __name__ == "__main__":
    sys.exit(main())
