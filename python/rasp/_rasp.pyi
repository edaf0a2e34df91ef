"""The native part of rasp: programs, s-ops, selectors, values and models.

Inputs: a ``str`` is split into characters (``"abc"`` is the tokens
``"a"``, ``"b"``, ``"c"``); any other iterable is a list of tokens, each a
``str``, ``int`` (64 bits), ``float`` or ``bool``. Values come back as the
interpreter's real types. Long work releases the GIL, runs on every core and
stops with ``KeyboardInterrupt`` on Ctrl-C.
"""

import pathlib
from os import PathLike
from typing import Any, Dict, Iterable, List, Literal, Optional, Sequence, Tuple, Union

from ._arrays import AttentionPatterns, ResidualStream
from ._display import Drawing, View

Atom = Union[str, int, float, bool]
"""A token or an output value."""
Input = Union[str, Sequence[Atom]]
"""One input: a string (its characters) or a list of tokens."""
Errors = Literal["raise", "return"]
"""What a batch does with an input that fails: raise the first failure (its
``index`` set), or put the exception in the input's place."""
Path = Union[str, "PathLike[str]"]

__version__: str

def set_time_limit(seconds: Optional[float]) -> None:
    """Sets the time one evaluation may take (the program's top level, one
    input's s-op, one compilation), in seconds; ``None`` or 0 for no limit,
    the default. Past it, the evaluation raises ``LimitError``."""

def set_memory_limit(mib: Optional[int]) -> None:
    """Sets the memory the process may hold while evaluating, in MiB, all
    threads together; ``None`` for the default (8 GiB or half the machine's
    memory, whichever is less). Past it, the evaluation raises
    ``LimitError``."""

class Program:
    """A RASP program, run once; its top-level names are kept.

    ``Program(source)`` runs the text with the standard library loaded, as
    ``rasp run`` does; a program that does not parse or fails raises
    ``RaspSyntaxError`` or ``EvaluationError``. ``program["name"]`` is what
    the program bound to ``name``: an :class:`SOp`, a :class:`Selector` or a
    :class:`Value`. ``draw(...)`` statements draw nothing here (use
    :meth:`SOp.draw`); ``set example`` sets the running example.
    """

    def __init__(self, source: str, name: str = "<program>") -> None:
        """Runs ``source``; ``name`` is the source's name in diagnostics."""
    @staticmethod
    def load(path: Path) -> "Program":
        """Runs the program of a file (its ``load`` statements look beside
        it)."""
    @property
    def source(self) -> str:
        """The program's text."""
    @property
    def name(self) -> str:
        """The source's name: the file, or ``"<program>"``."""
    @property
    def path(self) -> Optional[pathlib.Path]:
        """The file it was loaded from, if any."""
    @property
    def default_sop(self) -> Optional[str]:
        """The s-op :meth:`run` runs by default, as ``rasp run`` picks it:
        the last s-op the program bound (or showed) at top level."""
    @property
    def example(self) -> List[Atom]:
        """The running example s-ops and selectors are shown on: the
        program's ``set example``, else ``"hello"``. Settable (a ``str`` or a
        list of tokens)."""
    @example.setter
    def example(self, input: Input) -> None: ...
    def sops(self) -> List[str]:
        """The names of the s-ops bound at top level, in order."""
    def names(self) -> List[str]:
        """Every name bound at top level, in order."""
    def __contains__(self, name: str) -> bool: ...
    def __getitem__(self, name: str) -> Union["SOp", "Selector", "Value"]:
        """What the program bound to ``name``; ``KeyError`` if nothing."""
    def run(self, input: Input, sop: Union[str, "SOp", None] = None) -> List[Atom]:
        """The s-op's values on one input (default s-op: :attr:`default_sop`).

        Raises ``EvaluationError`` if the s-op fails on the input, and
        ``RaspError`` (code ``rasp::python::not_an_sop``) if ``sop`` names
        no s-op."""
    def run_many(
        self, inputs: Iterable[Input], sop: Union[str, "SOp", None] = None, errors: Errors = "raise"
    ) -> List[Any]:
        """The s-op's values on every input, in order: one call, on all
        cores, as ``rasp run`` runs a batch. With ``errors="return"`` an input
        that fails has its exception in its place."""
    def compile(
        self,
        vocab: Union[str, Sequence[Atom]],
        max_len: int,
        sop: Union[str, "SOp", None] = None,
        dtype: Literal["f32", "f64"] = "f32",
    ) -> "Model":
        """The s-op compiled to a transformer for inputs over ``vocab`` of
        lengths 1 to ``max_len``, as ``rasp compile`` does: equal to the
        interpreter on every such input, or ``CompileError``. ``vocab`` is a
        list of tokens or text as ``--vocab`` takes it (``"a,b,c"``).
        Warnings (a map that fails on some inputs) are ``CompileWarning``s."""

class SOp:
    """An s-op of a program. Shown as the REPL shows it, on the running
    example (``repr``, and a table in a notebook)."""

    @property
    def name(self) -> str:
        """The name it is bound to."""
    @property
    def example(self) -> List[Atom]:
        """The running example it is shown on (settable)."""
    @example.setter
    def example(self, input: Input) -> None: ...
    def run(self, input: Input) -> List[Atom]:
        """The s-op's values on one input."""
    def __call__(self, input: Input) -> List[Atom]:
        """Same as :meth:`run`."""
    def run_many(self, inputs: Iterable[Input], errors: Errors = "raise") -> List[Any]:
        """The s-op's values on every input, on all cores."""
    def analyze(self) -> Dict[str, Any]:
        """The paper's attention layers and heads, as ``rasp analyze --json``
        gives them: ``layers``, ``max_heads``, ``heads_per_layer`` and
        ``detail`` (each layer's heads: the selector and what uses it)."""
    def draw(self, input: Optional[Input] = None, format: Literal["svg", "dot"] = "svg") -> Drawing:
        """The drawing of ``rasp draw`` on ``input`` (default: the running
        example), shown inline in Jupyter."""
    def _example_data(self) -> Dict[str, Any]: ...
    def _repr_html_(self) -> str: ...

class Selector:
    """A selector of a program, shown as its selection matrix on the
    running example."""

    @property
    def name(self) -> str:
        """The name it is bound to."""
    @property
    def example(self) -> List[Atom]:
        """The running example it is shown on (settable)."""
    @example.setter
    def example(self, input: Input) -> None: ...
    def matrix(self, input: Optional[Input] = None) -> List[List[bool]]:
        """The selection on ``input`` (default: the running example): one
        row per query, ``True`` where it selects the key."""
    def _example_data(self) -> Dict[str, Any]: ...
    def _repr_html_(self) -> str: ...

class Value:
    """Any other value a program binds: an atom, list, dict or function."""

    @property
    def name(self) -> str:
        """The name it is bound to."""
    @property
    def kind(self) -> str:
        """``"int"``, ``"float"``, ``"str"``, ``"bool"``, ``"list"``,
        ``"dict"``, ``"function"``, ..."""
    @property
    def value(self) -> Any:
        """The value as Python data (``None`` for a function)."""
    def _repr_html_(self) -> str: ...

class Model:
    """A compiled transformer (``Program.compile`` or ``Model.load``), run
    by rasp's runtime exactly as ``rasp exec`` runs it."""

    @staticmethod
    def load(path: Path) -> "Model":
        """A model read from a ``.safetensors`` file of ``rasp compile``;
        ``ModelError`` if it is not one (or its checksum fails)."""
    def save(self, path: Path) -> None:
        """Writes the model as a ``.safetensors`` file (docs/FORMAT.md)."""
    def exec(self, inputs: Iterable[Input], errors: Errors = "raise") -> List[Any]:
        """The outputs on every input, as ``rasp exec`` gives them, in one
        call on all cores. An input the model cannot take (an unknown token,
        too long) is a ``ModelError``."""
    def verify(self, samples: int = 10_000, seed: int = 1, program: Optional[Program] = None) -> Dict[str, Any]:
        """Compares the model with the interpreter as ``rasp verify`` does:
        every input of length 1 to ``max_len`` when there are at most a
        million, else ``samples`` of them (the hard ones first, then random
        ones of ``seed``). The report of ``rasp verify --json``: ``inputs``,
        ``agree``, ``undefined``, ``disagree``, ``mismatches``, ``seconds``,
        ..., with ``ok`` (no disagreement, and not undefined on every
        input). The s-op is the one compiled, else the one ``program`` (by
        default the model's own source) binds to the model's s-op name."""
    def inspect(self) -> Dict[str, Any]:
        """The report of ``rasp inspect --json``."""
    def summary(self) -> str:
        """The summary ``rasp compile`` prints."""
    def view(self, inputs: Union[str, Sequence[Input]]) -> View:
        """The viewer's page of the model on ``inputs`` (a list of inputs as
        ``exec`` takes them, or one string), as ``rasp view`` writes it:
        every head's attention (a counting head's selected keys beside),
        the residual stream after every sub-layer. Shown inline in Jupyter;
        ``.save(path)`` writes the HTML file."""
    @property
    def config(self) -> Dict[str, Any]:
        """The TransformerLens config: ``HookedTransformerConfig`` fields,
        ``dtype`` by name (``"float32"``, ``"float64"``)."""
    @property
    def record(self) -> Dict[str, Any]:
        """The weight file's ``rasp`` record (vocabulary, input conventions,
        output decoding, residual labels, program)."""
    @property
    def vocab(self) -> List[Atom]:
        """The input tokens; token id ``i + 1`` is ``vocab[i]`` (BOS is 0)."""
    @property
    def max_len(self) -> int:
        """The longest input the model is exact on."""
    @property
    def dtype(self) -> Literal["float32", "float64"]:
        """The weights' type, and the one the runtime computes in."""
    @property
    def sop(self) -> str:
        """The compiled s-op's name."""
    @property
    def source(self) -> str:
        """The program it was compiled from."""
    @property
    def residual_labels(self) -> List[str]:
        """One name per residual dimension: ``one``, ``bos``, ``sop:value``, ``sop``."""
    def encode(self, inputs: Iterable[Input], pad_to: Optional[int] = None) -> Tuple[Any, Any]:
        """Token ids and attention mask, NumPy ``int64`` arrays of shape
        ``[len(inputs), positions]``: BOS (0) first, then the tokens' ids,
        padded on the right with 0 to the longest input (or ``pad_to``
        positions); the mask is 1 for BOS and the tokens."""
    def decode(self, logits: Any, mask: Optional[Any] = None) -> List[Any]:
        """The outputs of logits, as :meth:`exec` gives them: ``[batch,
        positions, d_vocab_out]`` (NumPy, torch or nested lists; BOS at
        position 0) gives a list per item, cut to its length by ``mask``
        (as :meth:`encode` gives it); one item's ``[positions, d_vocab_out]``
        gives its list."""
    def state_dict(self, torch: Optional[bool] = None) -> Dict[str, Any]:
        """The weights by TransformerLens name, in the model's dtype: torch
        tensors when torch can be imported (or ``torch=True``), else NumPy
        arrays (``torch=False``)."""
    def to_transformer_lens(self, process_weights: bool = False) -> Any:
        """The model in TransformerLens: a ``HookedTransformer`` with
        TransformerLens 3.x, a ``TransformerBridge`` (``boot_native``) with
        4.x, every weight loaded strictly. ``process_weights`` applies
        TransformerLens' weight processing (it changes no output).
        ``rasp.transformer_lens.run`` runs inputs through it."""
    def attention(self, input: Input) -> AttentionPatterns:
        """Every head's attention pattern on one input, from rasp's runtime:
        ``tokens`` (BOS first) and ``patterns``, ``[n_layers, n_heads, len,
        len]`` (query by key), in the model's dtype."""
    def residual(self, input: Input) -> ResidualStream:
        """The residual stream on one input after the embedding and after
        each attention and MLP sub-layer: ``tokens``, ``labels`` (one per
        dimension), ``hooks`` (TransformerLens' names) and ``values``,
        ``[1 + 2 * n_layers, len, d_model]``."""
    def _tensors(self) -> List[Tuple[str, bytearray, str, List[int]]]: ...
