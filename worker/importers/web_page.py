"""Pages saved from the schools portal (.html), known by their content, read into the lines
the text importers take, in one pass of the standard library's event-driven HTMLParser
(entities decoded, broken markup tolerated) in time linear in the page's size, however deep
its tags nest or however many are never closed.

Only the page's main content is read (`<main>`, else the first element with `role="main"`,
else `<article>`, else the body), without its navigation, header,
footer, scripts and templates. Each block (heading, paragraph, list item) is a line; each
table row a line of tab-separated cells, so that a label/value row ("MI Number" | "3/17")
reads as the text form's "MI Number\t3/17"; a `<dt>` and its `<dd>` share a line the same
way. Nothing of the page is run or shown: only its text is kept.

An end tag closes the elements opened since the last open element of its name, as browsers
and BeautifulSoup do; one with none open is ignored. A cell or row opened while another is
open closes it; a table inside a cell is read as that cell's text.

Each table row keeps where it came from ("table 2, row 3").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

from worker.importers.read import Read

# Left out of the page's text. Not forms: some portals wrap the whole page in one.
DROPPED = frozenset(
    ("script", "style", "noscript", "template", "nav", "header", "footer", "svg", "rt", "rp")
)
BLOCKS = frozenset((
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li",
    "ul", "ol", "dl", "blockquote", "address", "pre", "caption", "figcaption",
))  # fmt: skip
VOID = frozenset((
    "area", "base", "basefont", "bgsound", "br", "col", "command", "embed", "frame", "hr",
    "image", "img", "input", "isindex", "keygen", "link", "menuitem", "meta", "nextid",
    "param", "source", "spacer", "track", "wbr",
))  # fmt: skip
# Where the main content is, best first: the first of each kind is the one.
CONTENT = ("main", "[role=main]", "article", "body")
# Separators never found in a page's text: a line break, a cell break and a place's end,
# so that the page's own whitespace (tabs and line breaks of its source) is simply collapsed.
NEW_LINE, CELL, PLACE = "\x1e", "\x1d", "\x1f"
SEPARATORS = re.compile("[\x1d-\x1f]")  # a page's own, taken out before reading it

Attributes = list[tuple[str, str | None]]


def html_lines(text: str) -> Read:
    reader = PageText()
    reader.feed(SEPARATORS.sub(" ", text))
    reader.close()
    return to_read("".join(reader.out))


class PageText(HTMLParser):
    """The content's text, with a separator for each line, cell and place, in one pass.

    All the page is read until a start tag of the content appears, then that element alone;
    should a better one appear (a `<main>` after the body's start), reading starts again at
    it, which happens at most once for each kind of content. Each open element is on a stack
    with what its end does; `counts` says whether an end tag has an open element to close, so
    that a stray one costs nothing."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rank = len(CONTENT)  # of the content read so far: all the page
        self.open: list[tuple[str, str]] = []  # each open element, and what its end does
        self.counts: Counter[str] = Counter()
        self.inside = True  # within the content
        self.node: list[str] = []  # the text since the last tag
        self.restart()

    def restart(self) -> None:
        """Reading starts again, at the content just opened: nothing read before it counts,
        and the ends of the elements around it do nothing."""
        self.open = [(tag, "") for tag, _ in self.open]
        self.dropped = 0  # dropped elements open within the content
        self.table: Table | None = None
        self.nested = 0  # tables open within `table`
        self.tables = 0  # tables numbered so far
        self.out: list[str] = []

    @property
    def reading(self) -> bool:
        return self.inside and not self.dropped

    def handle_starttag(self, tag: str, attrs: Attributes) -> None:
        self.flush()
        role = "[role=main]" if dict(attrs).get("role") == "main" else ""
        rank = min(CONTENT.index(k) if k in CONTENT else len(CONTENT) for k in (tag, role))
        if rank < self.rank:
            self.rank = rank
            self.restart()
            self.inside = tag not in VOID
            ends = "content"
        else:
            ends = self.opened(tag) if self.reading else ""
        if tag not in VOID:
            self.open.append((tag, ends))
            self.counts[tag] += 1

    def opened(self, tag: str) -> str:
        """What opening `tag` in the content writes; what its end will do."""
        if tag in DROPPED:
            self.dropped += 1
            return "dropped"
        if self.table is not None:
            return self.in_table(tag)
        if tag == "table":
            self.tables += 1
            self.table = Table(self.tables)
            return "table"
        if tag in ("br", "dt", "dd"):
            self.out.append(CELL if tag == "dd" else NEW_LINE)
            return "line" if tag == "dd" else ""
        if tag in BLOCKS:
            self.out.append(NEW_LINE)
            return "line"
        return ""

    def in_table(self, tag: str) -> str:
        """Within a table only its rows' cells are read."""
        assert self.table is not None
        if tag == "table":
            self.tables += 1
            self.nested += 1
            return "nested"
        if self.nested or tag not in ("tr", "td", "th"):
            return ""
        if tag == "tr":
            self.table.start_row()
            return "row"
        return "cell" if self.table.start_cell() else ""

    def handle_endtag(self, tag: str) -> None:
        self.flush()
        if self.counts[tag]:
            while self.pop() != tag:
                pass

    def pop(self) -> str:
        tag, ends = self.open.pop()
        self.counts[tag] -= 1
        self.ended(ends)
        return tag

    def ended(self, ends: str) -> None:
        if ends == "content":
            self.inside = False
        elif ends == "dropped":
            self.dropped -= 1
        elif ends == "line":
            self.out.append(NEW_LINE)
        elif ends == "nested":
            self.nested -= 1
        elif ends == "table" and self.table is not None:
            self.out.append(self.table.text())
            self.table = None
        elif ends == "row" and self.table is not None:
            self.table.end_row()
        elif ends == "cell" and self.table is not None:
            self.table.end_cell()

    def handle_data(self, data: str) -> None:
        self.node.append(data)

    def flush(self) -> None:
        """The text since the last tag, as one piece, to where it is read (if it is)."""
        text, self.node = "".join(self.node), []
        if not text or not self.reading:
            return
        if self.table is not None:
            self.table.add(text)
        else:
            self.out.append(text)

    def handle_comment(self, data: str) -> None:
        self.flush()

    def handle_decl(self, decl: str) -> None:
        self.flush()

    def handle_pi(self, data: str) -> None:
        self.flush()

    def unknown_decl(self, data: str) -> None:
        """A CDATA section is text of its own; any other declaration is not text."""
        self.flush()
        if data.upper().startswith("CDATA["):
            self.node.append(data[len("CDATA[") :])
            self.flush()

    def close(self) -> None:
        super().close()
        self.flush()
        while self.open:
            self.pop()


@dataclass
class Table:
    """The rows of one table as they are read: each a line of its cells' text."""

    number: int
    rows: list[str] = field(default_factory=list)
    cells: list[str] | None = None  # the open row's cells
    cell: list[str] | None = None  # the open cell's pieces of text

    def start_row(self) -> None:
        self.end_row()
        self.cells = []

    def start_cell(self) -> bool:
        """A cell opened in the open row; False outside a row, where it is not read."""
        self.end_cell()
        if self.cells is None:
            return False
        self.cell = []
        return True

    def add(self, text: str) -> None:
        if self.cell is not None:
            self.cell.append(text)

    def end_cell(self) -> None:
        if self.cell is not None and self.cells is not None:
            self.cells.append(" ".join(" ".join(self.cell).split()))
        self.cell = None

    def end_row(self) -> None:
        self.end_cell()
        if self.cells is not None:
            self.rows.append(row_text(self.cells))
        self.cells = None

    def text(self) -> str:
        """The table's rows, each on a line that starts with its place."""
        self.end_row()
        marked = [f"{NEW_LINE}{PLACE}table {self.number}, row {i}{PLACE}{row}"
                  for i, row in enumerate(self.rows, start=1)]  # fmt: skip
        return "".join(marked) + NEW_LINE


def row_text(cells: list[str]) -> str:
    while cells and not cells[-1]:
        cells.pop()
    return f"{cells[0]}{CELL}" if len(cells) == 1 else CELL.join(cells)


def to_read(text: str) -> Read:
    """The text's lines: a table row's place kept, blank runs reduced to one blank line."""
    read = Read()
    for number, raw in enumerate(text.split(NEW_LINE), start=1):
        place = f"text line {number} of the page"
        if raw.startswith(PLACE):
            _, place, raw = raw.split(PLACE, 2)
        line = "\t".join(" ".join(cell.split()) for cell in raw.split(CELL))
        if line.strip("\t") or (read.lines and read.lines[-1].strip()):
            read.add(line if line.strip("\t") else "", place)
    return read
