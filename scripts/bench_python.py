#!/usr/bin/env python3
"""Times the Python package against the command line on the same work:
`Program.run_many` against `rasp run`, `Model.exec` against `rasp exec`,
on 100,000 inputs (lengths 1-16 over ten letters, fixed seed), medians of
several runs; and how long `import rasp` takes.

    cargo build --release && pip install ./python
    python scripts/bench_python.py [--inputs 100000] [--runs 5] [--rasp target/release/rasp]

`rasp run` and `rasp exec` are timed as whole processes (start-up, reading
the inputs from a file on standard input, printing to /dev/null). The
Python calls are timed in process, given the inputs as a list of str:
`run_many` and `exec` alone, and with the program's loading (or the
model's) included. The results print as a Markdown table.
"""

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def median_seconds(runs, work):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def command(args, stdin_path):
    def run():
        with open(stdin_path, "rb") as stdin:
            done = subprocess.run(args, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if done.returncode != 0:
            sys.exit(f"{args} failed: {done.stderr.decode()[:500]}")

    return run


def import_time(runs):
    """Median wall time of `python -c "import rasp"` less that of
    `python -c "pass"`, and the cumulative time `-X importtime` gives."""
    base = median_seconds(runs, lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
    full = median_seconds(runs, lambda: subprocess.run([sys.executable, "-c", "import rasp"], check=True))
    cumulative = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import rasp"], capture_output=True, text=True, check=True
        ).stderr
        line = [l for l in out.splitlines() if l.rstrip().endswith("| rasp")][-1]
        cumulative.append(int(line.split("|")[1]) / 1e6)
    return full - base, statistics.median(cumulative)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rasp", default=str(ROOT / "target/release/rasp"))
    args = parser.parse_args()

    import rasp

    rng = random.Random(7)
    letters = "abcdefghij"
    inputs = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 16))) for _ in range(args.inputs)]
    program_path = ROOT / "examples/sort.rasp"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lines = tmp / "inputs.txt"
        lines.write_text("\n".join(inputs) + "\n")
        model_path = tmp / "sort.safetensors"
        subprocess.run(
            [args.rasp, "compile", str(program_path), "--vocab", ",".join(letters), "--max-len", "16", "-o", str(model_path)],
            check=True,
            stdout=subprocess.DEVNULL,
        )

        program = rasp.Program.load(program_path)
        model = rasp.Model.load(model_path)
        assert program.run_many(inputs[:1000]) == rasp.Program.load(program_path).run_many(inputs[:1000])
        assert model.exec(inputs[:1000]) == program.run_many(inputs[:1000])
        work = {
            "cli run": command([args.rasp, "run", str(program_path)], lines),
            "py run": lambda: program.run_many(inputs),
            "py run load": lambda: rasp.Program.load(program_path).run_many(inputs),
            "cli exec": command([args.rasp, "exec", str(model_path)], lines),
            "py exec": lambda: model.exec(inputs),
            "py exec load": lambda: rasp.Model.load(model_path).exec(inputs),
        }
        # Interleaved, so that the machine's other load falls on all alike.
        times = {name: [] for name in work}
        for _ in range(args.runs):
            for name, job in work.items():
                times[name].append(median_seconds(1, job))
        t = {name: statistics.median(ts) for name, ts in times.items()}
        rows.append(("`run_many` / `rasp run`", t["cli run"], t["py run"], t["py run load"]))
        rows.append(("`Model.exec` / `rasp exec`", t["cli exec"], t["py exec"], t["py exec load"]))

    print(f"{args.inputs} inputs, medians of {args.runs} interleaved runs\n")
    print("| work | command line | Python call | ratio | with loading | ratio |")
    print("|---|---|---|---|---|---|")
    for name, cli, py, py_load in rows:
        print(f"| {name} | {cli:.3f} s | {py:.3f} s | {py / cli:.2f} | {py_load:.3f} s | {py_load / cli:.2f} |")
    extra, cumulative = import_time(max(args.runs, 10))
    print(f"\n`import rasp`: {extra * 1000:.1f} ms over a bare interpreter's start (wall), "
          f"{cumulative * 1000:.1f} ms by `-X importtime` (cumulative)")


if __name__ == "__main__":
    main()
