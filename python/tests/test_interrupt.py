"""Long work releases the GIL and stops on Ctrl-C with KeyboardInterrupt,
leaving rasp ready for the next call."""

import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import rasp
from conftest import EXAMPLES

# About 7 s of evaluation at the program's top level (9 million steps).
SLOW_PROGRAM = "x = 0; for i in range(3000) { for j in range(3000) { x = x + 1; } }"


def interrupt_after(seconds):
    timer = threading.Timer(seconds, signal.raise_signal, [signal.SIGINT])
    timer.start()
    return timer


def test_ctrl_c_stops_a_program_and_rasp_goes_on():
    started = time.monotonic()
    timer = interrupt_after(0.3)
    with pytest.raises(KeyboardInterrupt):
        rasp.Program(SLOW_PROGRAM)
    timer.join()
    assert time.monotonic() - started < 3
    assert rasp.Program("x = 2 + 3;")["x"].value == 5


def test_ctrl_c_stops_a_batch():
    program = rasp.Program.load(EXAMPLES / "sort.rasp")
    inputs = ["jihgfedcba" * 2000] * 1000  # about 8 s on two cores
    started = time.monotonic()
    timer = interrupt_after(0.3)
    with pytest.raises(KeyboardInterrupt):
        program.run_many(inputs)
    timer.join()
    assert time.monotonic() - started < 3
    assert program.run("cba") == ["a", "b", "c"]
    assert program.run_many(["ba"] * 20) == [["a", "b"]] * 20


def test_sigint_to_a_process_running_rasp():
    child = textwrap.dedent(
        f"""
        import sys, time
        import rasp
        print("ready", flush=True)
        started = time.monotonic()
        try:
            rasp.Program({SLOW_PROGRAM!r})
            print("finished")
        except KeyboardInterrupt:
            print(f"interrupted after {{time.monotonic() - started:.2f}}", flush=True)
        print(rasp.Program("y = 1;")["y"].value)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=20)
    lines = out.split()
    assert lines[0] == "interrupted", out
    assert float(lines[2]) < 3 and lines[-1] == "1"
    assert process.returncode == 0


def test_the_gil_is_released_while_a_batch_runs():
    program = rasp.Program.load(EXAMPLES / "sort.rasp")
    inputs = ["jihgfedcba" * 500] * 300
    done = threading.Event()
    spins = 0

    def work():
        program.run_many(inputs)
        done.set()

    worker = threading.Thread(target=work)
    worker.start()
    started = time.monotonic()
    while not done.is_set():
        spins += 1
    elapsed = time.monotonic() - started
    worker.join()
    # This thread kept running Python while the batch ran (with the GIL
    # held, it would have waited for the whole batch).
    assert elapsed > 0.05
    assert spins > 10_000
