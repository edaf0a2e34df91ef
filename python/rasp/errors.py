"""The exceptions of rasp: every error of the language, the compiler and
the model files is a :class:`RaspError` carrying the diagnostic that
``rasp`` prints.

::

    RaspError
    ├── RaspSyntaxError     a program that does not parse
    ├── EvaluationError     a program or an s-op that fails when it runs
    │   └── LimitError      ... past a time or memory limit
    ├── CompileError        a program the compiler refuses
    └── ModelError          a weight file that is not a model, an input a model cannot take

An evaluation stopped by Ctrl-C raises ``KeyboardInterrupt``. The compiler's
warnings are :class:`CompileWarning` (``warnings.warn``).
"""

from __future__ import annotations

from typing import Optional, Tuple

__all__ = [
    "RaspError",
    "RaspSyntaxError",
    "EvaluationError",
    "LimitError",
    "CompileError",
    "ModelError",
    "CompileWarning",
]


class _Diagnostic:
    """The fields of a diagnostic, shared by errors and warnings."""

    #: The stable code, e.g. ``"rasp::eval::type_mismatch"``.
    code: Optional[str]
    #: The message, without the code: ``undefined name `x```.
    message: str
    #: Advice, where there is some.
    help: Optional[str]
    #: The diagnostic as ``rasp`` prints it, without colour.
    rendered: str
    #: The primary label's byte offsets ``(start, end)`` into its source.
    span: Optional[Tuple[int, int]]
    #: The source's name: a file, ``"<program>"``, ``"<input>"``, ...
    source_name: Optional[str]
    #: 1-based line and column of the span's start.
    line: Optional[int]
    column: Optional[int]
    #: In a batch (``run_many``, ``exec``, ``encode``): the input's index.
    index: Optional[int]

    def _set(self, message, code, help, rendered, span, source_name, line, column):
        self.message = message
        self.code = code
        self.help = help
        self.rendered = rendered if rendered is not None else f"error: {message}\n"
        self.span = tuple(span) if span is not None else None
        self.source_name = source_name
        self.line = line
        self.column = column
        self.index = None

    def _fields(self):
        return {
            "code": self.code,
            "help": self.help,
            "rendered": self.rendered,
            "span": self.span,
            "source_name": self.source_name,
            "line": self.line,
            "column": self.column,
        }


class RaspError(_Diagnostic, Exception):
    """An error of rasp, with its diagnostic (``code``, ``message``,
    ``help``, ``span``, ``rendered``)."""

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        help: Optional[str] = None,
        rendered: Optional[str] = None,
        span: Optional[Tuple[int, int]] = None,
        source_name: Optional[str] = None,
        line: Optional[int] = None,
        column: Optional[int] = None,
    ) -> None:
        Exception.__init__(self, message)
        self._set(message, code, help, rendered, span, source_name, line, column)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return (_rebuild, (type(self), self.message, self._fields(), self.index))


def _rebuild(cls, message, fields, index):
    error = cls(message, **fields)
    error.index = index
    return error


class RaspSyntaxError(RaspError):
    """A program that does not parse (codes ``rasp::syntax::...``)."""


class EvaluationError(RaspError):
    """A program or an s-op that fails when it runs (codes ``rasp::eval::...``)."""


class LimitError(EvaluationError):
    """An evaluation past a limit: time, memory, steps, sizes (``rasp::eval::limit``)."""


class CompileError(RaspError):
    """A program the compiler refuses (codes ``rasp::compile::...``)."""


class ModelError(RaspError):
    """A weight file that is not a model, or an input a model cannot take
    (codes ``rasp::model::...``)."""


class CompileWarning(_Diagnostic, UserWarning):
    """Something the compiler notes about a model it built: a map that fails
    on some inputs (``rasp::compile::partial``)."""

    def __init__(self, message: str, **fields) -> None:
        UserWarning.__init__(self, message)
        self._set(
            message,
            fields.get("code"),
            fields.get("help"),
            fields.get("rendered"),
            fields.get("span"),
            fields.get("source_name"),
            fields.get("line"),
            fields.get("column"),
        )

    def __str__(self) -> str:
        return self.message
