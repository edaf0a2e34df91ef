"""A compiled rasp model in TransformerLens, as docs/FORMAT.md describes:
``load`` builds it from the model's config and loads its weights strictly,
``run`` runs inputs through it in padded, masked batches and decodes the
logits as ``Model.exec`` does.

TransformerLens 3.x gives a ``HookedTransformer`` (its state dict has two
buffers per layer, ``attn.mask`` and ``attn.IGNORE``, that it builds itself:
those alone may be missing); 4.x gives a ``TransformerBridge`` booted with
``boot_native``, loaded with ``strict=True``. Needs ``torch`` and
``transformer_lens``.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any, List, Sequence

__all__ = ["load", "run", "major_version"]


def major_version() -> int:
    """The installed TransformerLens' major version (3 or 4)."""
    return int(importlib.metadata.version("transformer_lens").split(".")[0])


def _is_bridge(tl_model: Any) -> bool:
    return type(tl_model).__name__ == "TransformerBridge" or hasattr(tl_model, "enable_compatibility_mode")


def load(model, process_weights: bool = False):
    """``model`` in TransformerLens (``Model.to_transformer_lens``)."""
    import torch

    config = dict(model.config)
    dtype = getattr(torch, config.pop("dtype"))
    state = model.state_dict(torch=True)
    if major_version() < 4:
        from transformer_lens import HookedTransformer, HookedTransformerConfig

        tl_model = HookedTransformer(HookedTransformerConfig(**config, dtype=dtype))
        missing, unexpected = tl_model.load_state_dict(state, strict=False)
        if process_weights:
            tl_model.process_weights_()
    else:
        import transformer_lens  # noqa: F401  (attaches TransformerBridge.boot_native)
        from transformer_lens.config import TransformerBridgeConfig
        from transformer_lens.model_bridge import TransformerBridge
        from transformer_lens.utilities.tl_checkpoint_conversion import convert_tl_checkpoint

        bridge_config = TransformerBridgeConfig(
            **{k: v for k, v in config.items() if k != "original_architecture"},
            architecture="TransformerLensNative",
            dtype=dtype,
        )
        tl_model = TransformerBridge.boot_native(bridge_config, dtype=dtype)
        result = tl_model.load_state_dict(convert_tl_checkpoint(state, bridge_config), strict=True)
        missing, unexpected = result.missing_keys, result.unexpected_keys
        if process_weights:
            tl_model.enable_compatibility_mode(disable_warnings=True)
    _check_loaded(tl_model, missing, unexpected, dtype)
    tl_model.eval()
    return tl_model


def _check_loaded(tl_model, missing, unexpected, dtype) -> None:
    """Every parameter came from the model, nothing else was left over, and
    TransformerLens kept the model's dtype."""
    if unexpected:
        raise ValueError(f"TransformerLens does not know these tensors: {sorted(unexpected)}")
    params = {name for name, _ in tl_model.named_parameters()}
    lacking = sorted(set(missing) & params)
    if lacking:
        raise ValueError(f"the model lacks these parameters: {lacking}")
    odd = sorted(k for k in missing if not k.endswith((".mask", ".IGNORE")))
    if odd:
        raise ValueError(f"missing beyond the mask buffers: {odd}")
    wrong = sorted({str(p.dtype) for _, p in tl_model.named_parameters()} - {str(dtype)})
    if wrong:
        raise ValueError(f"TransformerLens built parameters of dtype {wrong}, not {dtype}")


def logits(tl_model, tokens, mask):
    """The logits of a padded batch, padded keys masked: 4.x takes the
    attention mask; 3.x's bidirectional attention ignores it, so padded
    keys get ``-inf`` scores through a hook on every ``hook_attn_scores``."""
    import torch

    with torch.no_grad():
        if _is_bridge(tl_model):
            return tl_model(tokens, return_type="logits", attention_mask=mask)
        keep = mask.bool()[:, None, None, :]

        def hide_padding(scores, hook):
            return scores.masked_fill(~keep, float("-inf"))

        hooks = [(lambda name: name.endswith("attn.hook_attn_scores"), hide_padding)]
        return tl_model.run_with_hooks(tokens, return_type="logits", fwd_hooks=hooks)


def run(model, tl_model, inputs: Sequence[Any], batch_size: int = 256) -> List[list]:
    """The outputs of ``tl_model`` (``model`` in TransformerLens) on
    ``inputs``, in padded batches of mixed lengths, decoded as
    ``model.exec`` decodes: equal to ``model.exec(inputs)`` when the two
    agree."""
    import torch

    if batch_size < 1:
        raise ValueError("batch_size is at least 1")
    inputs = list(inputs)
    outputs: List[list] = []
    for start in range(0, len(inputs), batch_size):
        batch = inputs[start : start + batch_size]
        tokens, mask = model.encode(batch)
        tokens, mask = torch.from_numpy(tokens), torch.from_numpy(mask)
        outputs.extend(model.decode(logits(tl_model, tokens, mask), mask))
    return outputs
