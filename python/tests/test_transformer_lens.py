"""The compiled models in TransformerLens: loaded strictly, they give the
outputs of Model.exec. These tests need torch and transformer_lens
(scripts/python_tests.sh installs them and runs them); without, they are
skipped with that reason."""

import importlib.util
import random

import pytest

import rasp
from conftest import EXAMPLES

MISSING = [m for m in ("torch", "transformer_lens") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"needs {' and '.join(MISSING)} (scripts/python_tests.sh installs them)"
)

TASKS = [
    ("sort.rasp", ["a", "b", "c"], 8),
    ("histogram.rasp", ["a", "b", "c"], 8),
    ("dyck2.rasp", ["(", ")", "{", "}"], 8),
    ("frac_prevs.rasp", ["x", "a", "b"], 8),
]


def random_inputs(vocab, max_len, count, seed=11):
    rng = random.Random(seed)
    return [[rng.choice(vocab) for _ in range(rng.randint(1, max_len))] for _ in range(count)]


@pytest.fixture(scope="module")
def models():
    return {
        file: rasp.Program.load(EXAMPLES / file).compile(vocab, max_len) for file, vocab, max_len in TASKS
    }


@pytest.mark.parametrize("file,vocab,max_len", TASKS)
@pytest.mark.parametrize("process_weights", [False, True])
def test_transformer_lens_equals_exec(models, file, vocab, max_len, process_weights):
    import rasp.transformer_lens as tl

    model = models[file]
    tl_model = model.to_transformer_lens(process_weights=process_weights)
    expected = "HookedTransformer" if tl.major_version() < 4 else "TransformerBridge"
    assert type(tl_model).__name__ == expected
    inputs = random_inputs(vocab, max_len, 300)
    # Batches of mixed lengths, padded and masked.
    assert tl.run(model, tl_model, inputs, batch_size=64) == model.exec(inputs)


def test_state_dict_is_torch_when_torch_is_there(models):
    import torch

    model = models["sort.rasp"]
    state = model.state_dict()
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.float32 for v in state.values())
    numpy_state = model.state_dict(torch=False)
    assert all(torch.equal(state[k], torch.from_numpy(numpy_state[k])) for k in state)


def test_runtime_patterns_match_transformer_lens(models):
    import torch

    model = models["sort.rasp"]
    tl_model = model.to_transformer_lens()
    tokens, _ = model.encode(["cab"])
    patterns = {}

    def keep(pattern, hook):
        patterns[hook.name] = pattern.detach()

    with torch.no_grad():
        tl_model.run_with_hooks(
            torch.from_numpy(tokens), fwd_hooks=[(lambda n: n.endswith("hook_pattern"), keep)]
        )
    ours = model.attention("cab").patterns
    for layer in range(model.config["n_layers"]):
        name = next(n for n in patterns if n.startswith(f"blocks.{layer}.") and "pattern" in n)
        theirs = patterns[name][0].numpy()
        assert abs(theirs - ours[layer]).max() < 1e-5
