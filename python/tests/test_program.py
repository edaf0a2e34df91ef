"""Programs from Python: running, values and their types, what a program
binds, how it shows, analysis and drawings."""

import xml.etree.ElementTree as ET

import pytest

import rasp
from conftest import EXAMPLES


def test_values_keep_the_interpreters_types():
    program = rasp.Program(
        """
        strs = tokens;
        ints = tokens_int + 1;
        means = aggregate(select(indices, indices, <=), tokens_int);
        bools = tokens_int > 1;
        """
    )
    assert program.run("abc", sop="strs") == ["a", "b", "c"]
    assert program.run([1, 2, 3], sop="ints") == [2, 3, 4]
    means = program.run([1, 2, 4], sop="means")
    # A mean over one key is an int, over several a float, as in the reference.
    assert means == [1, 1.5, 2 + 1 / 3]
    assert [type(v) for v in means] == [int, float, float]
    bools = program.run([1, 2, 3], sop="bools")
    assert bools == [False, True, True] and all(type(b) is bool for b in bools)


def test_inputs_are_strings_or_lists_of_atoms():
    program = rasp.Program("same = tokens_asis;")
    assert program.run("hey") == ["h", "e", "y"]
    assert program.run(["ab", "c"]) == ["ab", "c"]
    assert program.run((1, 2.5, True)) == [1, 2.5, True]
    assert program.run(iter([3, 4])) == [3, 4]
    with pytest.raises(TypeError, match="a token is a str, int, float or bool"):
        program.run([1, None])
    with pytest.raises(OverflowError, match="64 bits"):
        program.run([2**70])
    with pytest.raises(TypeError, match="not one str"):
        program.run_many("abc")


def test_numpy_scalars_are_tokens():
    np = pytest.importorskip("numpy")
    program = rasp.Program("same = tokens_asis;")
    out = program.run(np.array([1, 2, 3]))
    assert out == [1, 2, 3] and all(type(v) is int for v in out)
    out = program.run(np.array([0.5]))
    assert out == [0.5] and type(out[0]) is float
    out = program.run(np.array([True, False]))
    assert out == [True, False] and all(type(v) is bool for v in out)


def test_run_many_equals_run_and_keeps_order():
    program = rasp.Program.load(EXAMPLES / "histogram.rasp")
    inputs = ["aabbbc", "abc", [1, 1, 2], "z" * 40] * 50
    assert program.run_many(inputs) == [program.run(i) for i in inputs]
    assert program.run_many([]) == []


def test_run_many_reports_failures_in_place_or_raises_the_first():
    program = rasp.Program("q = 12 / tokens_int;")
    inputs = [[1, 2], [0], [3], [4, 0]]
    out = program.run_many(inputs, errors="return")
    assert out[0] == [12.0, 6.0] and out[2] == [4.0]
    assert isinstance(out[1], rasp.EvaluationError) and out[1].index == 1
    assert isinstance(out[3], rasp.EvaluationError) and out[3].index == 3
    assert out[1].code == "rasp::eval::division_by_zero"
    with pytest.raises(rasp.EvaluationError) as raised:
        program.run_many(inputs)
    assert raised.value.index == 1
    with pytest.raises(ValueError, match="errors is"):
        program.run_many(inputs, errors="ignore")


def test_what_a_program_binds():
    program = rasp.Program(
        """
        def twice(x) { return 2 * x; }
        n = twice(3);
        items = [1, "a", 2.5, True];
        table = {"a": 1, "b": [2]};
        flip = select(indices, length - indices - 1, ==);
        reversed = aggregate(flip, tokens);
        upper = reversed == "a";
        """
    )
    assert program.names() == ["twice", "n", "items", "table", "flip", "reversed", "upper"]
    assert program.sops() == ["reversed", "upper"]
    assert program.default_sop == "upper"
    assert "flip" in program and "nothing" not in program
    assert isinstance(program["reversed"], rasp.SOp)
    assert isinstance(program["flip"], rasp.Selector)
    n = program["n"]
    assert isinstance(n, rasp.Value) and n.kind == "int" and n.value == 6
    assert program["items"].value == [1, "a", 2.5, True]
    assert program["table"].value == {"a": 1, "b": [2]}
    assert program["twice"].kind == "function" and program["twice"].value is None
    with pytest.raises(KeyError):
        program["nothing"]
    assert program["reversed"].run("abc") == ["c", "b", "a"]
    assert program["reversed"]("xy") == ["y", "x"]
    assert program["flip"].matrix("abc") == [
        [False, False, True],
        [False, True, False],
        [True, False, False],
    ]


def test_the_default_sop_is_the_one_rasp_run_picks():
    assert rasp.Program("a = tokens; b = indices;").default_sop == "b"
    # An expression statement's s-op counts, as in `rasp run`.
    program = rasp.Program("a = tokens; reverse(tokens);")
    assert program.default_sop not in (None, "a")
    assert program.run("ab") == ["b", "a"]
    empty = rasp.Program("n = 1;")
    assert empty.default_sop is None
    with pytest.raises(rasp.RaspError) as raised:
        empty.run("a")
    assert raised.value.code == "rasp::python::no_sop"


def test_sop_arguments_name_sops_only():
    program = rasp.Program("s = tokens; f = select(tokens, tokens, ==); n = 2;")
    assert program.run("ab", sop=program["s"]) == ["a", "b"]
    for name, what in [("f", "a selector"), ("n", "a value of type int"), ("zz", "not defined")]:
        with pytest.raises(rasp.RaspError, match=what) as raised:
            program.run("ab", sop=name)
        assert raised.value.code == "rasp::python::not_an_sop"
    with pytest.raises(TypeError):
        program.run("ab", sop=3)


def test_programs_load_from_files_and_load_beside_them(tmp_path):
    (tmp_path / "lib.rasp").write_text("def shout(s) { return s + \"!\"; }\n")
    (tmp_path / "main.rasp").write_text('load "lib";\nloud = shout(tokens);\n')
    program = rasp.Program.load(tmp_path / "main.rasp")
    assert program.run("ab") == ["a!", "b!"]
    assert program.path.name == "main.rasp" and program.name.endswith("main.rasp")
    assert "loud = shout(tokens);" in program.source
    with pytest.raises(rasp.RaspError) as raised:
        rasp.Program.load(tmp_path / "missing.rasp")
    assert raised.value.code == "rasp::python::read_file"


def test_sops_show_as_the_repl_shows_them():
    program = rasp.Program.load(EXAMPLES / "reverse.rasp")
    sop = program[program.default_sop]
    assert repr(sop).splitlines()[0] == f"s-op: {sop.name}"
    assert "= [o, l, l, e, h] (strings)" in repr(sop)
    sop.example = [3, 1, 2]
    assert sop.example == [3, 1, 2]
    assert "reversed([3, 1, 2]) = [2, 1, 3] (strings)" in repr(sop)
    html = sop._repr_html_()
    assert "<table" in html and ">2<" in html and "strings" in html


def test_the_program_example_is_the_running_example():
    program = rasp.Program('set example "abc"\nr = reverse(tokens);\nsame = select(tokens, tokens, ==);')
    assert program.example == ["a", "b", "c"]
    assert "r(\"abc\") = [c, b, a]" in repr(program["r"])
    program.example = "xyx"
    matrix = repr(program["same"]).splitlines()
    assert matrix[0] == "selector: same"
    assert matrix[-1].split() == ["x", "|", "1", "1"]
    html = program["same"]._repr_html_()
    assert html.count("<tr>") == 4  # the key row and one row per query
    with pytest.raises(ValueError):
        program.example = ""


def test_failures_on_the_example_show_beside_the_sop():
    program = rasp.Program("q = 1 / (tokens_int - 1);")
    program.example = [1, 2]
    text = repr(program["q"])
    assert "failed (the name is bound)" in text and "division by zero" in text
    assert "division by zero" in program["q"]._repr_html_()


def test_values_show_as_the_repl_shows_them():
    program = rasp.Program('x = 3; s = "hi"; l = [1, [2]];')
    assert repr(program["x"]) == "value: x = 3"
    assert repr(program["s"]) == 'value: s = "hi"'
    assert repr(program["l"]) == "list: l = [1, [2]]"
    assert program["l"]._repr_html_() == "<pre>list: l = [1, [2]]</pre>"


def test_analyze_gives_layers_and_heads_as_data(sort_program):
    analysis = sort_program["sorted"].analyze()
    assert analysis["sop"] == "sorted"
    assert analysis["layers"] == 2 and analysis["heads_per_layer"] == [2, 1]
    assert analysis["max_heads"] == 2
    assert [d["layer"] for d in analysis["detail"]] == [1, 2]
    assert all("selector" in h and h["uses"] for d in analysis["detail"] for h in d["heads"])
    dyck = rasp.Program.load(EXAMPLES / "dyck2.rasp")
    assert dyck[dyck.default_sop].analyze()["layers"] == 3


def test_draw_gives_the_svg_of_rasp_draw(sort_program, tmp_path):
    drawing = sort_program["sorted"].draw("banana")
    assert isinstance(drawing, rasp.Drawing)
    svg = ET.fromstring(drawing.text)
    assert svg.tag.endswith("svg")
    title = svg.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text == "sorted on [b, a, n, a, n, a]"
    layers = [g for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "layer"]
    assert len(layers) == 3  # the input, then the two attention layers
    assert drawing._repr_svg_() == drawing.text
    saved = drawing.save(tmp_path / "s.svg")
    assert (tmp_path / "s.svg").read_text() == drawing.text and saved.endswith("s.svg")
    dot = sort_program["sorted"].draw("ab", format="dot")
    assert dot.text.startswith("digraph") and dot._repr_svg_() is None
    # The running example by default.
    assert "sorted on [h, e, l, l, o]" in sort_program["sorted"].draw().text
    with pytest.raises(ValueError):
        sort_program["sorted"].draw("ab", format="png")
    with pytest.raises(rasp.RaspError) as raised:
        sort_program["sorted"].draw("a" * 100)
    assert raised.value.code == "rasp::draw::too_large"


def test_deep_recursion_runs_on_the_workers_stack():
    program = rasp.Program(
        "def down(n) { return 0 if n == 0 else 1 + down(n - 1); }\nd = down(1500);"
    )
    assert program["d"].value == 1500


def test_limits_stop_evaluations():
    rasp.set_time_limit(0.2)
    try:
        with pytest.raises(rasp.LimitError) as raised:
            rasp.Program("x = 0; for i in range(5000) { for j in range(5000) { x = x + 1; } }")
        assert raised.value.code == "rasp::eval::limit"
        assert "time limit" in raised.value.message
    finally:
        rasp.set_time_limit(None)
    assert rasp.Program("x = 0; for i in range(1000) { x = x + 1; }")["x"].value == 1000
    with pytest.raises(ValueError):
        rasp.set_time_limit(-1)
    with pytest.raises(ValueError):
        rasp.set_memory_limit(0)
