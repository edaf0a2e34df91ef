"""rasp: RASP, the language of "Thinking Like Transformers", from Python.

An interpreter that gives programs the meaning the original gives them, and
a compiler of s-ops to transformer weights, exact by construction, that run
in rasp's own runtime and load into TransformerLens. The Rust library does
the work; this package converts.

    >>> import rasp
    >>> program = rasp.Program("reversed = reverse(tokens);")
    >>> program.run("hello")
    ['o', 'l', 'l', 'e', 'h']
    >>> model = program.compile(vocab=["a", "b", "c"], max_len=5)
    >>> model.exec(["abc", "cab"])
    [['c', 'b', 'a'], ['b', 'a', 'c']]
"""

from ._rasp import (
    Model,
    Program,
    Selector,
    SOp,
    Value,
    __version__,
    set_memory_limit,
    set_time_limit,
)
from ._arrays import AttentionPatterns, ResidualStream
from ._display import Drawing, View
from .errors import (
    CompileError,
    CompileWarning,
    EvaluationError,
    LimitError,
    ModelError,
    RaspError,
    RaspSyntaxError,
)

__all__ = [
    "Program",
    "SOp",
    "Selector",
    "Value",
    "Model",
    "Drawing",
    "View",
    "AttentionPatterns",
    "ResidualStream",
    "RaspError",
    "RaspSyntaxError",
    "EvaluationError",
    "LimitError",
    "CompileError",
    "ModelError",
    "CompileWarning",
    "set_time_limit",
    "set_memory_limit",
    "__version__",
]
