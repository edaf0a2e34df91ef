"""Models from Python: compile, exec, verify, save and load, the weights
as arrays, encode and decode, attention and the residual stream."""

import math
import random

import numpy as np
import pytest

import rasp
from conftest import EXAMPLES


def random_inputs(vocab, max_len, count, seed=5):
    rng = random.Random(seed)
    return [[rng.choice(vocab) for _ in range(rng.randint(1, max_len))] for _ in range(count)]


TASKS = [
    ("sort.rasp", ["a", "b", "c"], 6),
    ("histogram.rasp", ["a", "b", "c"], 6),
    ("dyck2.rasp", ["(", ")", "{", "}"], 6),
    ("frac_prevs.rasp", ["x", "a"], 6),
    ("reverse.rasp", [1, 2, 3], 5),
]


@pytest.mark.parametrize("file,vocab,max_len", TASKS)
def test_exec_equals_the_interpreter(file, vocab, max_len):
    program = rasp.Program.load(EXAMPLES / file)
    model = program.compile(vocab, max_len)
    inputs = random_inputs(vocab, max_len, 400)
    want = program.run_many(inputs)
    got = model.exec(inputs)
    assert got == want
    # The same types, not only equal values (1 and 1.0 and True are equal).
    assert [[type(v) for v in out] for out in got] == [[type(v) for v in out] for out in want]
    report = model.verify()
    assert report["ok"] and report["disagree"] == 0 and report["agree"] == report["inputs"] > 0
    assert report["checked"] == "every input" and report["mismatches"] == []


def test_verify_samples_when_there_are_too_many_inputs(sort_program):
    model = sort_program.compile(list("abcdefghij"), 8)
    report = model.verify(samples=500, seed=3)
    assert report["inputs"] == 500 and report["ok"]
    assert report["checked"].startswith("500 inputs (")
    assert report["checked"].endswith("seed 3)")
    with pytest.raises(ValueError):
        model.verify(samples=0)


def test_verify_a_loaded_model_against_its_own_source(tmp_path, sort_model):
    path = tmp_path / "sort.safetensors"
    sort_model.save(path)
    loaded = rasp.Model.load(path)
    assert loaded.verify()["ok"]
    other = rasp.Program("sorted = reverse(tokens);")
    report = loaded.verify(program=other)
    assert not report["ok"] and report["disagree"] > 0
    first = report["mismatches"][0]
    assert set(first) == {"input", "interpreter", "model"}
    assert first["interpreter"] == other.run(first["input"])


def test_save_and_load_keep_the_model(tmp_path, sort_model):
    path = tmp_path / "m.safetensors"
    sort_model.save(path)
    loaded = rasp.Model.load(path)
    inputs = random_inputs(["a", "b", "c"], 6, 200)
    assert loaded.exec(inputs) == sort_model.exec(inputs)
    assert loaded.inspect() == sort_model.inspect()
    assert loaded.record == sort_model.record
    assert path.read_bytes()[:8] == open(path, "rb").read(8)


def test_the_models_facts(sort_model):
    assert sort_model.vocab == ["a", "b", "c"]
    assert sort_model.max_len == 6 and sort_model.dtype == "float32"
    assert sort_model.sop == "sorted"
    assert "sort(tokens_asis, tokens_asis)" in sort_model.source
    config = sort_model.config
    assert config["n_ctx"] == 7 and config["d_vocab"] == 4 and config["act_fn"] == "relu"
    assert config["dtype"] == "float32" and config["attention_dir"] == "bidirectional"
    assert len(sort_model.residual_labels) == config["d_model"]
    assert sort_model.residual_labels[0] == "bos"
    record = sort_model.record
    assert record["vocab"] == ["a", "b", "c"] and record["bos_id"] == 0
    report = sort_model.inspect()
    assert report["sop"] == "sorted" and report["dtype"] == "F32"
    assert sort_model.summary().startswith("sorted: 2 layers")
    assert repr(sort_model).startswith("<rasp.Model sorted: 2 layers")


def test_state_dict_has_transformer_lens_names_and_shapes(sort_model):
    state = sort_model.state_dict(torch=False)
    c = sort_model.config
    assert state["embed.W_E"].shape == (c["d_vocab"], c["d_model"])
    assert state["pos_embed.W_pos"].shape == (c["n_ctx"], c["d_model"])
    for l in range(c["n_layers"]):
        for name in "QKV":
            assert state[f"blocks.{l}.attn.W_{name}"].shape == (c["n_heads"], c["d_model"], c["d_head"])
            assert state[f"blocks.{l}.attn.b_{name}"].shape == (c["n_heads"], c["d_head"])
        assert state[f"blocks.{l}.attn.W_O"].shape == (c["n_heads"], c["d_head"], c["d_model"])
        assert state[f"blocks.{l}.mlp.W_in"].shape == (c["d_model"], c["d_mlp"])
        assert state[f"blocks.{l}.mlp.W_out"].shape == (c["d_mlp"], c["d_model"])
    assert state["unembed.W_U"].shape == (c["d_model"], c["d_vocab_out"])
    assert len(state) == 4 + 12 * c["n_layers"]
    assert all(v.dtype == np.float32 for v in state.values())
    nonzero = sum(int(np.count_nonzero(v)) for v in state.values())
    assert nonzero == sort_model.inspect()["nonzero_parameters"]
    # The arrays are the caller's to change.
    state["embed.W_E"][0, 0] = 5.0
    assert sort_model.state_dict(torch=False)["embed.W_E"][0, 0] != 5.0


def test_an_f64_model_has_f64_weights():
    model = rasp.Program('f = frac_prevs(tokens, "a");').compile("a,b", 4, dtype="f64")
    assert model.dtype == "float64" and model.config["dtype"] == "float64"
    assert all(v.dtype == np.float64 for v in model.state_dict(torch=False).values())
    assert model.attention("ab").patterns.dtype == np.float64


def numpy_forward(state, config, ids):
    """The forward pass of docs/FORMAT.md, on a padded batch with a mask."""
    x = state["embed.W_E"][ids] + state["pos_embed.W_pos"][: ids.shape[1]]
    return x, lambda mask: _layers(state, config, x, mask)


def _layers(state, config, x, mask):
    for l in range(config["n_layers"]):
        p = lambda name: state[f"blocks.{l}.{name}"]
        q, k, v = (np.einsum("bpd,hde->bhpe", x, p(f"attn.W_{c}")) + p(f"attn.b_{c}")[:, None] for c in "QKV")
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(config["d_head"])
        scores = np.where(mask[:, None, None, :] == 1, scores, -np.inf)
        weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        x = x + np.einsum("bhpe,hed->bpd", weights @ v, p("attn.W_O")) + p("attn.b_O")
        x = x + np.maximum(x @ p("mlp.W_in") + p("mlp.b_in"), 0) @ p("mlp.W_out") + p("mlp.b_out")
    return x @ state["unembed.W_U"] + state["unembed.b_U"]


@pytest.mark.parametrize("model_fixture", ["sort_model", "frac_model"])
def test_encode_then_decode_numpy_logits_gives_exec(model_fixture, request):
    model = request.getfixturevalue(model_fixture)
    vocab = model.vocab
    inputs = random_inputs(vocab, model.max_len, 300)
    ids, mask = model.encode(inputs)
    assert ids.dtype == np.int64 and mask.dtype == np.int64
    longest = max(len(i) for i in inputs)
    assert ids.shape == mask.shape == (len(inputs), longest + 1)
    for row, m, tokens in zip(ids, mask, inputs):
        assert row[0] == 0 and m[0] == 1
        assert list(row[1 : len(tokens) + 1]) == [vocab.index(t) + 1 for t in tokens]
        assert m.sum() == len(tokens) + 1 and not row[len(tokens) + 1 :].any()
    state = model.state_dict(torch=False)
    state = {k: v.astype(np.float64) for k, v in state.items()}
    _, run = numpy_forward(state, model.config, ids)
    logits = run(mask)
    assert model.decode(logits, mask) == model.exec(inputs)
    # One item's logits give its outputs; nested lists work as arrays do.
    assert model.decode(logits[0][: len(inputs[0]) + 1]) == model.exec([inputs[0]])[0]
    assert model.decode(logits[:2].tolist(), mask[:2].tolist()) == model.exec(inputs[:2])


def test_encode_pads_to_a_width_and_decode_checks_shapes(sort_model):
    ids, mask = sort_model.encode(["ab", "c"], pad_to=7)
    assert ids.shape == (2, 7) and mask.tolist()[1] == [1, 1, 0, 0, 0, 0, 0]
    with pytest.raises(ValueError):
        sort_model.encode(["abc"], pad_to=2)
    with pytest.raises(ValueError, match="per position"):
        sort_model.decode(np.zeros((1, 3, 9)))
    with pytest.raises(ValueError):
        sort_model.decode(np.zeros(3))
    bad = np.zeros((1, 3, 4))
    bad[0, 1, 0] = np.nan
    with pytest.raises(rasp.ModelError) as raised:
        sort_model.decode(bad)
    assert raised.value.code == "rasp::model::overflow"


def test_attention_patterns_come_from_the_runtime(sort_model):
    attention = sort_model.attention("cab")
    c = sort_model.config
    assert attention.tokens == ["BOS", "c", "a", "b"]
    assert attention.patterns.shape == (c["n_layers"], c["n_heads"], 4, 4)
    assert np.allclose(attention.patterns.sum(axis=-1), 1.0, atol=1e-5)
    # The second layer's head reads, for each output position, the token
    # that sorts there: "a" (position 2), "b" (3), "c" (1).
    head = attention.head(1, 0)
    assert [int(np.argmax(head[q])) for q in (1, 2, 3)] == [2, 3, 1]


def test_the_residual_stream_has_its_labels(sort_model):
    residual = sort_model.residual("cab")
    c = sort_model.config
    assert residual.hooks[0] == "blocks.0.hook_resid_pre"
    assert residual.hooks[-1] == f"blocks.{c['n_layers'] - 1}.hook_resid_post"
    assert residual.values.shape == (1 + 2 * c["n_layers"], 4, c["d_model"])
    labels = residual.labels
    start = residual.at("blocks.0.hook_resid_pre")
    # `bos` is set at position 0 alone, each token's one-hot at its own.
    assert start[:, labels.index("bos")].tolist() == [1, 0, 0, 0]
    assert start[:, labels.index("tokens_asis:a")].tolist() == [0, 0, 1, 0]
    end = residual.at(residual.hooks[-1])
    state = {k: v.astype(np.float64) for k, v in sort_model.state_dict(torch=False).items()}
    logits = end.astype(np.float64) @ state["unembed.W_U"] + state["unembed.b_U"]
    assert sort_model.decode(logits) == ["a", "b", "c"]


def test_view_is_the_page_of_rasp_view(sort_model, tmp_path):
    import json
    import re

    view = sort_model.view(["cab", "abba"])
    assert isinstance(view, rasp.View)
    data = re.search(r'<script type="application/json" id="rasp-data">(.*?)</script>', view.html, re.S)
    assert data is not None
    page = json.loads(data.group(1))
    assert [i["text"] for i in page["inputs"]] == ["cab", "abba"]
    # Shown in a notebook in a frame of its own; saved as a file.
    shown = view._repr_html_()
    assert shown.startswith("<iframe") and "srcdoc=" in shown and "<script" not in shown
    saved = view.save(tmp_path / "v.html")
    assert (tmp_path / "v.html").read_text() == view.html and saved.endswith("v.html")
    assert sort_model.view("cab").html.count('"text":"cab"') == 1
    with pytest.raises(rasp.ModelError) as caught:
        sort_model.view(["cxb"])
    assert caught.value.code == "rasp::model::unknown_token"
