"""Errors are exceptions of rasp.errors carrying the diagnostic: its code,
message, help, span (with line and column) and the text rasp prints."""

import pickle
import warnings

import pytest

import rasp


def test_a_syntax_error_points_into_the_program():
    source = "a = tokens;\nb = (a + ;\n"
    with pytest.raises(rasp.RaspSyntaxError) as raised:
        rasp.Program(source, name="prog.rasp")
    e = raised.value
    assert isinstance(e, rasp.RaspError)
    assert e.code.startswith("rasp::syntax::")
    assert str(e) == e.message and e.message
    start, end = e.span
    assert source[start:end] == ";"
    assert (e.source_name, e.line, e.column) == ("prog.rasp", 2, 10)
    assert e.rendered.startswith(e.code)
    assert "prog.rasp:2:10" in e.rendered
    assert "\x1b[" not in e.rendered  # no colour


def test_an_evaluation_error_names_the_input():
    program = rasp.Program("q = 6 / tokens_int;")
    with pytest.raises(rasp.EvaluationError) as raised:
        program.run([1, 0])
    e = raised.value
    assert e.code == "rasp::eval::division_by_zero"
    assert e.message == "division by zero"
    assert program.source[e.span[0] : e.span[1]] == "6 / tokens_int"
    assert "at position 1 of input `[1, 0]`" in e.rendered
    assert e.index is None


def test_errors_carry_help_and_undefined_names():
    with pytest.raises(rasp.EvaluationError) as raised:
        rasp.Program("x = tokenz;")
    e = raised.value
    assert e.code == "rasp::eval::undefined_name"
    assert "tokenz" in e.message and e.help
    assert (e.line, e.column) == (1, 5)


def test_an_empty_input_is_an_evaluation_error():
    program = rasp.Program("t = tokens;")
    with pytest.raises(rasp.EvaluationError) as raised:
        program.run("")
    assert "empty" in raised.value.message


def test_errors_pickle_with_their_fields():
    with pytest.raises(rasp.RaspError) as raised:
        rasp.Program("x = 1 +;")
    copy = pickle.loads(pickle.dumps(raised.value))
    assert type(copy) is rasp.RaspSyntaxError
    assert (copy.code, copy.message, copy.span, copy.rendered) == (
        raised.value.code,
        raised.value.message,
        raised.value.span,
        raised.value.rendered,
    )


def test_compile_errors_and_settings():
    program = rasp.Program("t = tokens;")
    with pytest.raises(rasp.CompileError) as raised:
        program.compile("a,b", 0)
    assert raised.value.code == "rasp::compile::settings"
    with pytest.raises(rasp.CompileError, match="twice"):
        program.compile(["a", "a"], 3)
    with pytest.raises(rasp.EvaluationError) as raised:
        program.compile("a,,b", 3)
    assert raised.value.source_name == "<vocab>"
    with pytest.raises(ValueError, match="dtype"):
        program.compile("a,b", 3, dtype="f16")
    failing = rasp.Program("x = 1 / (tokens_int - tokens_int);")
    with pytest.raises(rasp.CompileError) as raised:
        failing.compile([1, 2], 3)
    assert raised.value.code.startswith("rasp::compile::")
    assert raised.value.rendered.startswith(raised.value.code)


def test_compile_warnings_are_python_warnings():
    program = rasp.Program("q = 6 / tokens_int;")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = program.compile([0, 1, 2], 3)
    assert len(caught) == 1
    warning = caught[0].message
    assert isinstance(warning, rasp.CompileWarning) and isinstance(warning, UserWarning)
    assert warning.code == "rasp::compile::partial"
    assert warning.span is not None and "6 / tokens_int" in warning.rendered
    assert model.exec([[1, 2]]) == [[6.0, 3.0]]


def test_model_file_errors(tmp_path, sort_model):
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(rasp.ModelError) as raised:
        rasp.Model.load(garbage)
    assert raised.value.code.startswith("rasp::model::")
    program = tmp_path / "sort.rasp"
    program.write_text("sorted = sort(tokens, tokens);\n")
    with pytest.raises(rasp.ModelError) as raised:
        rasp.Model.load(program)
    assert raised.value.code == "rasp::model::program_not_model"
    # A flipped bit in the tensors fails the checksum.
    path = tmp_path / "sort.safetensors"
    sort_model.save(path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(rasp.ModelError) as raised:
        rasp.Model.load(path)
    assert raised.value.code == "rasp::model::checksum"
    with pytest.raises(rasp.ModelError) as raised:
        rasp.Model.load(tmp_path / "missing.safetensors")
    assert raised.value.code == "rasp::model::io"


def test_inputs_a_model_cannot_take(sort_model):
    cases = [(["abz"], "rasp::model::unknown_token"), (["abcabca"], "rasp::model::input_too_long"), ([""], "rasp::model::empty_input")]
    for inputs, code in cases:
        with pytest.raises(rasp.ModelError) as raised:
            sort_model.exec(["ab"] + inputs)
        assert raised.value.code == code and raised.value.index == 1
        with pytest.raises(rasp.ModelError) as raised:
            sort_model.encode(inputs)
        assert raised.value.code == code and raised.value.index == 0
    out = sort_model.exec(["ba", "abz", "c"], errors="return")
    assert out[0] == ["a", "b"] and out[2] == ["c"]
    assert isinstance(out[1], rasp.ModelError) and out[1].index == 1
