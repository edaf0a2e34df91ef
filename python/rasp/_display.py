"""How rasp's objects show in a notebook: s-ops with their values on the
running example, selectors as their selection matrix, other values as the
REPL prints them, drawings as SVG."""

from __future__ import annotations

import html
import os
from typing import Optional

_STYLE = (
    "border-collapse:collapse;font-family:monospace;margin:2px 0;"
)
_CELL = "border:1px solid #bbb;padding:1px 6px;text-align:center;"
_HEAD = _CELL + "background:#f2f2f2;font-weight:bold;"


def _cell(text: str, head: bool = False) -> str:
    style = _HEAD if head else _CELL
    return f'<td style="{style}">{html.escape(text)}</td>'


def example_html(data: dict) -> str:
    """An s-op or selector on its running example (the data of
    ``_example_data``)."""
    kind, name, example = data["kind"], data["name"], data["example"]
    head = (
        f'<div style="font-family:monospace"><b>{kind}</b>: {html.escape(name)}'
        f' <span style="color:#777">on {html.escape(example)}</span></div>'
    )
    error = data.get("error")
    if error is not None:
        rendered = getattr(error, "rendered", None) or str(error)
        return head + f"<pre>{html.escape(rendered)}</pre>"
    if kind == "s-op":
        rows = [
            "<tr>" + _cell("input", True) + "".join(_cell(v) for v in data["labels"]) + "</tr>",
            "<tr>" + _cell("output", True) + "".join(_cell(v) for v in data["cells"]) + "</tr>",
        ]
        note = f'<div style="color:#777;font-family:monospace">{html.escape(data["type"])}</div>'
        return head + f'<table style="{_STYLE}">' + "".join(rows) + "</table>" + note
    labels = data["labels"]
    rows = ["<tr>" + _cell("", True) + "".join(_cell(k, True) for k in labels) + "</tr>"]
    for query, selected in zip(labels, data["matrix"]):
        cells = "".join(_cell("1" if s else "") for s in selected)
        rows.append("<tr>" + _cell(query, True) + cells + "</tr>")
    return head + f'<table style="{_STYLE}">' + "".join(rows) + "</table>"


def text_html(text: str) -> str:
    """Text as the REPL prints it."""
    return f"<pre>{html.escape(text)}</pre>"


class Drawing:
    """The drawing of ``rasp draw``: an s-op's computation on one input, by
    layer and head. Shown inline in Jupyter (SVG); ``save`` writes it."""

    def __init__(self, text: str, format: str, name: str, file: str) -> None:
        #: The SVG document, or the graphviz DOT text.
        self.text = text
        #: ``"svg"`` or ``"dot"``.
        self.format = format
        #: The drawn s-op's name.
        self.name = name
        self._file = file

    def _repr_svg_(self) -> Optional[str]:
        return self.text if self.format == "svg" else None

    def save(self, path: Optional["os.PathLike[str] | str"] = None) -> str:
        """Writes the drawing to ``path`` (default: ``NAME.svg`` or
        ``NAME.dot`` in the current directory, as ``rasp draw`` names it)
        and returns the path."""
        target = os.fspath(path) if path is not None else self._file
        with open(target, "w", encoding="utf-8") as f:
            f.write(self.text)
        return target

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<rasp.Drawing of {self.name} ({self.format}, {len(self.text)} characters)>"


class View:
    """The viewer's page of a compiled model on some inputs, as ``rasp view``
    writes it: every head's attention (a counting head's selected keys
    beside), the residual stream after every sub-layer, what each head and
    MLP computes. Shown inline in Jupyter (in a frame of its own, scripts
    and styles inline, nothing fetched); ``save`` writes it."""

    def __init__(self, html_text: str, sop: str, file: str) -> None:
        #: The self-contained HTML page.
        self.html = html_text
        #: The model's s-op.
        self.sop = sop
        self._file = file

    def _repr_html_(self) -> str:
        return (
            '<iframe style="width:100%;height:720px;border:1px solid #ccc" '
            f'sandbox="allow-scripts" srcdoc="{html.escape(self.html, quote=True)}"></iframe>'
        )

    def save(self, path: Optional["os.PathLike[str] | str"] = None) -> str:
        """Writes the page to ``path`` (default: ``SOP.html`` in the current
        directory, as ``rasp view`` names it) and returns the path."""
        target = os.fspath(path) if path is not None else self._file
        with open(target, "w", encoding="utf-8") as f:
            f.write(self.html)
        return target

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<rasp.View of {self.sop} ({len(self.html)} characters)>"
