"""Shared fixtures of the Python package's tests (run by `.ci/run` after
the package is built: `pytest python/tests`)."""

from pathlib import Path

import pytest

import rasp

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def sort_program():
    return rasp.Program.load(EXAMPLES / "sort.rasp")


@pytest.fixture(scope="session")
def sort_model(sort_program):
    return sort_program.compile(vocab=["a", "b", "c"], max_len=6)


@pytest.fixture(scope="session")
def frac_model():
    """A numerical output: the fraction of the prefix that is an "a"."""
    return rasp.Program('f = frac_prevs(tokens, "a");').compile("a,b", 5)
