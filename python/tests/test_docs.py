"""The documentation runs: the tour of examples/python/ and the README's
Python blocks; the type stub covers every public method."""

import ast
import inspect
import re
import runpy
from pathlib import Path

import pytest

import rasp
from conftest import ROOT

STUB = Path(rasp.__file__).parent / "_rasp.pyi"


def test_the_tour_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(ROOT / "examples/python/tour.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "['a', 'a', 'a', 'b', 'n', 'n']" in out
    assert "every input 9840 of 9840 agree" in out
    assert (tmp_path / "sort.svg").read_text().startswith("<svg")
    assert (tmp_path / "sort.safetensors").stat().st_size > 0


def readme_python_blocks():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_the_readmes_python_blocks_run(tmp_path, monkeypatch):
    blocks = readme_python_blocks()
    assert blocks, "README.md has a ```python block"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    scope = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), scope)


def stub_members():
    """The classes of the stub and the names each defines."""
    tree = ast.parse(STUB.read_text())
    members = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members[node.name] = {
                n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AnnAssign))
            }
        elif isinstance(node, ast.FunctionDef):
            members.setdefault("", set()).add(node.name)
    return members


@pytest.mark.parametrize("cls", [rasp.Program, rasp.SOp, rasp.Selector, rasp.Value, rasp.Model])
def test_the_stub_has_every_method(cls):
    stub = stub_members()[cls.__name__]
    public = {n for n in dir(cls) if not n.startswith("__") or n in ("__getitem__", "__contains__", "__call__")}
    public -= {n for n in dir(object)}
    missing = sorted(public - stub)
    assert not missing, f"{cls.__name__} lacks in the stub: {missing}"
    extra = sorted(n for n in stub - public if not n.startswith("__"))
    assert not extra, f"the stub of {cls.__name__} has what the class lacks: {extra}"


def test_the_stub_has_the_module_functions_and_docstrings():
    functions = stub_members()[""]
    assert {"set_time_limit", "set_memory_limit"} <= functions
    tree = ast.parse(STUB.read_text())
    undocumented = [
        f"{cls.name}.{fn.name}"
        for cls in tree.body
        if isinstance(cls, ast.ClassDef)
        for fn in cls.body
        if isinstance(fn, ast.FunctionDef)
        and not fn.name.startswith("_")
        and not ast.get_docstring(fn)
        and not any(isinstance(d, ast.Attribute) and d.attr == "setter" for d in fn.decorator_list)
        and not any(isinstance(d, ast.Name) and d.id == "overload" for d in fn.decorator_list)
    ]
    assert not undocumented, f"methods without a docstring in the stub: {undocumented}"


def test_import_loads_no_numpy():
    import subprocess
    import sys

    code = "import sys, rasp; print('numpy' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
