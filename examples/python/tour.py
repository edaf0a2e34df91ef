"""A short tour of rasp from Python: interpret a program, draw an s-op,
compile it to a transformer, run the weights in TransformerLens, and look
at a head's attention.

    pip install ./python                 # from the repository root
    python examples/python/tour.py       # writes sort.svg and sort.safetensors here

The TransformerLens step runs when torch and transformer_lens can be
imported (see scripts/python_tests.sh); every other step needs only rasp.
"""

import importlib.util
from pathlib import Path

import rasp

EXAMPLES = Path(__file__).resolve().parent.parent

# 1. Interpret. A program runs once; its top-level names are kept.
program = rasp.Program.load(EXAMPLES / "sort.rasp")
print(program.sops())                        # ['sorted']
print(program.run("banana"))                 # ['a', 'a', 'a', 'b', 'n', 'n']
print(program.run([3, 1, 2]))                # [1, 2, 3]: ints stay ints
print(program.run_many(["cab", "ba", "c"]))  # one call, every core

# Programs can be written inline; every value has its Python type.
counts = rasp.Program("counts = histogram(tokens); half = frac_prevs(tokens, \"a\");")
print(counts.run("aab", sop="counts"))       # [2, 2, 1]
print(counts.run("aab", sop="half"))         # [1, 1.0, 0.6666666666666666]

# An s-op shows as the REPL shows it (and as a table in a notebook).
sort = program["sorted"]
print(repr(sort))
print(sort.analyze()["heads_per_layer"])     # the paper's heads per layer

# 2. Draw: the SVG of `rasp draw` (shown inline in Jupyter).
drawing = sort.draw("banana")
print(drawing.save("sort.svg"))              # sort.svg

# 3. Compile: a transformer equal to the interpreter on every input over
# the vocabulary up to max_len.
model = program.compile(vocab=["a", "b", "c"], max_len=8)
print(model.summary())
print(model.exec(["cabba", "abc"]))          # [['a', 'a', 'b', 'b', 'c'], ['a', 'b', 'c']]
report = model.verify()
print(report["checked"], report["agree"], "of", report["inputs"], "agree")
model.save("sort.safetensors")
assert rasp.Model.load("sort.safetensors").exec(["cab"]) == [["a", "b", "c"]]

# 4. TransformerLens: the same weights, loaded strictly, give the same outputs.
if importlib.util.find_spec("torch") and importlib.util.find_spec("transformer_lens"):
    import rasp.transformer_lens

    tl_model = model.to_transformer_lens()
    inputs = ["cabba", "abc", "ccc", "b"]
    outputs = rasp.transformer_lens.run(model, tl_model, inputs)
    print(type(tl_model).__name__, outputs == model.exec(inputs))   # ... True
else:
    print("TransformerLens is not installed: step 4 skipped")

# 5. Attention: every head's pattern on one input, from rasp's runtime.
attention = model.attention("cab")
print(attention.tokens)                      # ['BOS', 'c', 'a', 'b']
layer, head = 1, 0                           # the head that moves the tokens
print(attention.head(layer, head).round(2))  # query by key: each row sums to 1
residual = model.residual("cab")
print(residual.hooks[-1], residual.values.shape)
