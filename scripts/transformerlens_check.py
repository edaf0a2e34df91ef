#!/usr/bin/env python3
"""Check a compiled RASP model in TransformerLens against `rasp exec`.

Loads a `.safetensors` file written by `rasp compile` into TransformerLens'
`HookedTransformer` (3.x) -- or, with `--bridge`, into a 4.x
`TransformerBridge` -- using only what the file itself says: the architecture
from the `config` metadata, the tokens and the output decoding from the `rasp`
metadata. It runs the inputs, decodes the outputs as the metadata says, runs
`rasp exec MODEL --json` on the same inputs, and compares the two.

The model's dtype comes from the metadata too (the `rasp` record's `dtype`,
"F32" or "F64", else the config's, "float32" or "float64"; files without
either are F32): an F64 file is built and run in torch.float64, and every
tensor must have the declared dtype.

    python scripts/transformerlens_check.py model.safetensors --input abc --input cab
    python scripts/transformerlens_check.py model.safetensors --samples 200 --seed 1
    python scripts/transformerlens_check.py model.safetensors --samples 1000 --bridge --process-weights

Inputs run in padded batches of mixed lengths (`--batch-size`, default 50):
token ids padded on the right with the record's `pad_id` and an attention
mask, as the record's `input` says. TransformerLens 4.x's bridge applies the
mask itself; 3.x's HookedTransformer ignores it when attention is
bidirectional, so the script masks padded keys with a hook on every
`blocks.{l}.attn.hook_attn_scores` (`--no-mask` leaves them unmasked, to see
why it matters; `--batch-size 1` runs one input at a time).
`--process-weights` applies TransformerLens' default weight processing
(`process_weights_()` in 3.x, `enable_compatibility_mode()` in 4.x) before
running. Outputs are compared exactly: the same values of the same types, a
float bit for bit.

Exit status: 0 when every output agrees, 1 when one does not, 2 on bad usage.
Needs `torch` and `transformer_lens` (see docs/FORMAT.md); not part of CI.
"""

import argparse
import ast
import json
import random
import struct
import subprocess
import sys
from pathlib import Path


# The dtypes a rasp model may have: the record's name, the config's name.
DTYPES = {"F32": "float32", "F64": "float64"}


def read_metadata(path):
    """The safetensors header's `__metadata__`: config, rasp record, and the
    dtype they declare ("F32" or "F64")."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    meta = header.get("__metadata__") or {}
    if "config" not in meta or "rasp" not in meta:
        sys.exit(f"{path}: no `config` and `rasp` metadata: not a model from `rasp compile`")
    config, record = json.loads(meta["config"]), json.loads(meta["rasp"])
    by_config = {v: k for k, v in DTYPES.items()}
    if "dtype" in config and config["dtype"] not in by_config:
        sys.exit(f"{path}: the config's dtype {config['dtype']!r} is not float32 or float64")
    if "dtype" in record and record["dtype"] not in DTYPES:
        sys.exit(f"{path}: the record's dtype {record['dtype']!r} is not F32 or F64")
    declared = {record.get("dtype"), by_config.get(config.get("dtype"))} - {None}
    if len(declared) > 1:
        sys.exit(f"{path}: the config and the record declare different dtypes: {sorted(declared)}")
    dtype = declared.pop() if declared else "F32"
    for name, entry in header.items():
        if name != "__metadata__" and entry.get("dtype") != dtype:
            sys.exit(f"{path}: tensor {name} has dtype {entry.get('dtype')}, expected {dtype}")
    return config, record, dtype


def atom(value):
    """A JSON atom of the record as a Python value (non-finite floats are
    written {"float": "inf"})."""
    if isinstance(value, dict) and "float" in value:
        return float(value["float"])
    return value


def parse_input(text):
    """An input as `rasp exec` reads it: a RASP list of atoms when it starts
    with `[`, else a string split into characters."""
    if not text.lstrip().startswith("["):
        return list(text)
    return list(ast.literal_eval(text))


def input_text(tokens):
    """An input written so that `rasp exec` reads back these tokens."""
    if all(isinstance(t, str) and len(t) == 1 for t in tokens) and "[" not in tokens[:1]:
        return "".join(tokens)
    return "[" + ", ".join(json.dumps(t) if not isinstance(t, bool) else str(t) for t in tokens) + "]"


def same(a, b):
    """Equal values of equal types (True is not 1, 1 is not 1.0), floats bit
    for bit; lists item by item."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b) or (a != a and b != b)
    return a == b


def load_model(path, config, dtype, bridge, process):
    import torch
    from safetensors.torch import load_file

    state = load_file(str(path))
    torch_dtype = getattr(torch, DTYPES[dtype])
    # The config's dtype is a name; TransformerLens wants the torch dtype.
    config = {k: v for k, v in config.items() if k != "dtype"}
    if not bridge:
        from transformer_lens import HookedTransformer, HookedTransformerConfig

        model = HookedTransformer(HookedTransformerConfig(**config, dtype=torch_dtype))
        # strict=False: the file has no `mask`/`IGNORE` buffers, which
        # TransformerLens builds itself (checked below: nothing else missing).
        missing, unexpected = model.load_state_dict(state, strict=False)
        if process:
            model.process_weights_()
    else:
        import transformer_lens  # noqa: F401  (attaches TransformerBridge.boot_native)
        from transformer_lens.config import TransformerBridgeConfig
        from transformer_lens.model_bridge import TransformerBridge
        from transformer_lens.utilities.tl_checkpoint_conversion import convert_tl_checkpoint

        # The same config, as TransformerLens' own native architecture.
        bridge_config = TransformerBridgeConfig(
            **{k: v for k, v in config.items() if k != "original_architecture"},
            architecture="TransformerLensNative",
            dtype=torch_dtype,
        )
        model = TransformerBridge.boot_native(bridge_config, dtype=torch_dtype)
        result = model.load_state_dict(convert_tl_checkpoint(state, bridge_config), strict=True)
        missing, unexpected = result.missing_keys, result.unexpected_keys
        if process:
            model.enable_compatibility_mode(disable_warnings=True)
    if unexpected:
        sys.exit(f"TransformerLens does not know these tensors: {unexpected}")
    # Only buffers (causal masks, IGNORE constants) may be missing: every
    # parameter must come from the file.
    params = {name for name, _ in model.named_parameters()}
    missing_params = sorted(set(missing) & params)
    if missing_params:
        sys.exit(f"the file lacks these parameters: {missing_params}")
    odd = sorted(k for k in missing if not k.endswith((".mask", ".IGNORE")))
    if odd:
        sys.exit(f"missing beyond the mask buffers: {odd}")
    # load_state_dict casts to the parameters' dtype; they must be the file's.
    wrong = sorted({str(p.dtype) for _, p in model.named_parameters()} - {str(torch_dtype)})
    if wrong:
        sys.exit(f"TransformerLens built parameters of dtype {wrong}, not {torch_dtype}")
    model.eval()
    return model, torch


def decode(row, output):
    """One position's logits as the record's output decoding says."""
    values = [atom(v) for v in output["values"]]
    rule = output.get("decode") or ("argmax" if output["kind"] == "categorical" else "nearest" if values else "raw")
    if rule == "argmax":
        best = max(range(len(row)), key=lambda i: (row[i], -i))
        return values[best]
    x = row[output.get("logit", 0)]
    if rule == "raw":
        return x
    # The nearest value, the lower on ties (values are ascending).
    return min(values, key=lambda v: abs(float(v) - x))


def run_batches(model, torch, batches, record, bridge, mask):
    """Each batch's decoded outputs: padded on the right, masked."""
    pad = record.get("input", {}).get("pad_id", 0)
    outputs = []
    for batch in batches:
        width = max(len(ids) for ids in batch)
        tokens = torch.tensor([ids + [pad] * (width - len(ids)) for ids in batch])
        attention = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch])
        with torch.no_grad():
            if bridge:
                logits = model(tokens, return_type="logits", attention_mask=attention if mask else None)
            else:
                keep = attention.bool()[:, None, None, :]

                def hide_padding(scores, hook):
                    return scores.masked_fill(~keep, float("-inf"))

                hooks = [(lambda name: name.endswith("attn.hook_attn_scores"), hide_padding)] if mask else []
                logits = model.run_with_hooks(tokens, return_type="logits", fwd_hooks=hooks)
        for ids, rows in zip(batch, logits):
            outputs.append([decode(row.tolist(), record["output"]) for row in rows[1 : len(ids)]])
    return outputs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a .safetensors file from `rasp compile`")
    parser.add_argument("--input", action="append", default=[], help="an input, as for `rasp exec` (repeatable)")
    parser.add_argument("--samples", type=int, default=0, help="also this many random inputs over the vocabulary")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rasp", default="rasp", help="the rasp binary (default: `rasp` on PATH)")
    parser.add_argument("--bridge", action="store_true", help="load into TransformerLens 4.x's TransformerBridge")
    parser.add_argument("--process-weights", action="store_true", help="apply TransformerLens' default weight processing")
    parser.add_argument("--batch-size", type=int, default=50, help="inputs per padded batch (default 50)")
    parser.add_argument("--no-mask", action="store_true", help="do not mask padded keys")
    args = parser.parse_args()
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")

    config, record, dtype = read_metadata(args.model)
    vocab = [atom(v) for v in record["vocab"]]
    ids_of = record.get("vocab_ids") or list(range(1, len(vocab) + 1))
    bos = record.get("bos_id", 0)
    inputs = list(args.input)
    rng = random.Random(args.seed)
    for _ in range(args.samples):
        length = rng.randint(1, record["max_len"])
        inputs.append(input_text([rng.choice(vocab) for _ in range(length)]))
    if not inputs:
        parser.error("give inputs with --input or --samples")

    model, torch = load_model(args.model, config, dtype, args.bridge, args.process_weights)

    exec_run = subprocess.run(
        [args.rasp, "exec", str(args.model), "--json"] + [a for i in inputs for a in ("--input", i)],
        capture_output=True,
        text=True,
    )
    expected = [json.loads(line) for line in exec_run.stdout.splitlines() if line.strip()]
    if len(expected) != len(inputs):
        sys.exit(f"`rasp exec` gave {len(expected)} lines for {len(inputs)} inputs:\n{exec_run.stderr}")

    # Token ids, or None for an input the model was not built for.
    encoded = []
    for text in inputs:
        tokens = parse_input(text)
        ids = [bos]
        for t in tokens:
            matches = [i for i, v in enumerate(vocab) if v == t]
            if not matches:
                break
            ids.append(ids_of[matches[0]])
        ok = len(ids) == len(tokens) + 1 and 1 <= len(tokens) <= record["max_len"]
        encoded.append(ids if ok else None)
    runnable = [i for i, ids in enumerate(encoded) if ids is not None]
    batches = [runnable[k : k + args.batch_size] for k in range(0, len(runnable), args.batch_size)]
    decoded = run_batches(model, torch, [[encoded[i] for i in b] for b in batches], record, args.bridge, not args.no_mask)
    got = [{"error": "not an input of this model"}] * len(inputs)
    for i, out in zip(runnable, decoded):
        got[i] = {"output": out}

    agree = 0
    for text, want, have in zip(inputs, expected, got):
        if ("error" in want) == ("error" in have) and same(want.get("output"), have.get("output")):
            agree += 1
        else:
            print(f"input {text}: rasp exec {want}, TransformerLens {have}")
    kind = "TransformerBridge" if args.bridge else "HookedTransformer"
    mixed = sum(len({len(encoded[i]) for i in b}) > 1 for b in batches)
    how = ", weights processed" if args.process_weights else ""
    how += ", unmasked" if args.no_mask else ""
    print(
        f"{args.model}: {record['sop']}, {dtype}, {len(inputs)} inputs in {len(batches)} batches "
        f"({mixed} of mixed lengths){how}: {agree} agree ({kind})"
    )
    return 0 if agree == len(inputs) else 1


if __name__ == "__main__":
    sys.exit(main())
