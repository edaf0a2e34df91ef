"""Arrays for rasp.Model: NumPy arrays made from the bytes the runtime
gives, torch tensors when asked, and logits read back for decoding. NumPy
is imported only here, when an array is needed (``import rasp`` stays
fast)."""

from __future__ import annotations

import importlib.util
from typing import Any, List, NamedTuple, Optional


def _numpy():
    try:
        import numpy
    except ImportError as missing:  # pragma: no cover - numpy is a dependency
        raise ImportError("rasp needs NumPy for arrays: pip install numpy") from missing
    return numpy


def array(buffer: bytearray, dtype: str, shape: tuple):
    """A NumPy array over ``buffer`` (which it then owns)."""
    np = _numpy()
    return np.frombuffer(buffer, dtype=dtype).reshape(shape)


def torch_available() -> bool:
    """Whether torch can be imported (without importing it)."""
    return importlib.util.find_spec("torch") is not None


def state_dict(tensors: list, torch: Optional[bool]):
    """The model's tensors by TransformerLens name: torch tensors when
    ``torch`` is true, or is None and torch can be imported; else NumPy
    arrays. Both in the model's dtype."""
    arrays = {name: array(buffer, dtype, tuple(shape)) for name, buffer, dtype, shape in tensors}
    use_torch = torch_available() if torch is None else torch
    if not use_torch:
        return arrays
    import torch as torch_module  # type: ignore[import-not-found]

    return {name: torch_module.from_numpy(values) for name, values in arrays.items()}


def _to_numpy(values: Any):
    """A NumPy array of any array-like, a torch tensor included."""
    if hasattr(values, "detach") and hasattr(values, "cpu"):
        values = values.detach().cpu().numpy()
    return _numpy().asarray(values)


def logits_for_decode(logits: Any, mask: Any):
    """Logits as ``Model.decode`` reads them: float64 little-endian bytes,
    the batch, positions and logits per position, each item's length (from
    the mask, else every position), and whether one item was given."""
    np = _numpy()
    values = _to_numpy(logits)
    single = values.ndim == 2
    if single:
        values = values[None]
    if values.ndim != 3:
        raise ValueError(
            f"logits are [batch, positions, d_vocab_out] or [positions, d_vocab_out], not of shape {values.shape}"
        )
    batch, positions, width = values.shape
    if mask is None:
        lengths = [positions] * batch
    else:
        keep = _to_numpy(mask)
        if single and keep.ndim == 1:
            keep = keep[None]
        if keep.shape != (batch, positions):
            raise ValueError(f"the mask has shape {keep.shape}; the logits need ({batch}, {positions})")
        lengths = [int(n) for n in (keep != 0).sum(axis=1)]
    data = np.ascontiguousarray(values, dtype="<f8").tobytes()
    return data, batch, positions, width, lengths, single


class AttentionPatterns(NamedTuple):
    """Every head's attention on one input, as the runtime computed it."""

    #: The tokens, BOS first.
    tokens: List[Any]
    #: ``[n_layers, n_heads, len, len]``, query by key, each row summing to 1.
    patterns: Any

    def head(self, layer: int, head: int):
        """One head's pattern, ``[len, len]`` (layers and heads from 0)."""
        return self.patterns[layer, head]


class ResidualStream(NamedTuple):
    """The residual stream on one input, after the embedding and after each
    attention and MLP sub-layer."""

    #: The tokens, BOS first.
    tokens: List[Any]
    #: One name per dimension: ``one``, ``bos``, ``sop:value``, ``sop``.
    labels: List[str]
    #: TransformerLens' hook name of each stage: ``blocks.0.hook_resid_pre``, ...
    hooks: List[str]
    #: ``[len(hooks), len, d_model]``.
    values: Any

    def at(self, hook: str):
        """The stream at one hook, ``[len, d_model]``."""
        return self.values[self.hooks.index(hook)]
