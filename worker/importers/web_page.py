"""Pages saved from the schools portal (.html), known by their content, read into the lines
the text importers take, with BeautifulSoup (entities decoded, broken markup tolerated).

Only the page's main content is read (`<main>`, else `<article>`, else the body without its
navigation, header, footer, scripts and forms). Each block (heading, paragraph, list item)
is a line; each table row a line of tab-separated cells, so that a label/value row ("MI
Number" | "3/17") reads as the text form's "MI Number\t3/17"; a `<dt>` and its `<dd>` share
a line the same way. Nothing of the page is run or shown: only its text is kept.

Each table row keeps where it came from ("table 2, row 3").
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

from worker.importers.read import Read

# Left out of the page's text. Not forms: some portals wrap the whole page in one.
DROPPED = ("script", "style", "noscript", "template", "nav", "header", "footer", "svg")
BLOCKS = (
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li",
    "ul", "ol", "dl", "blockquote", "address", "pre", "caption", "figcaption",
)  # fmt: skip
# Separators never found in a page's text: a line break, a cell break and a place's end,
# so that the page's own whitespace (tabs and line breaks of its source) is simply collapsed.
NEW_LINE, CELL, PLACE = "\x1e", "\x1d", "\x1f"
SEPARATORS = re.compile("[\x1d-\x1f]")  # a page's own, taken out before reading it


def html_lines(text: str) -> Read:
    soup = BeautifulSoup(SEPARATORS.sub(" ", text), "html.parser")
    content = main_content(soup)
    for element in content.find_all(DROPPED):
        element.decompose()
    for number, table in enumerate(content.find_all("table"), start=1):
        rows = [row_text(row) for row in table.find_all("tr")]
        marked = [
            f"{NEW_LINE}{PLACE}table {number}, row {i}{PLACE}{row}" for i, row in enumerate(rows, 1)
        ]
        table.replace_with(NavigableString("".join(marked) + NEW_LINE))
    for element in content.find_all("br"):
        element.replace_with(NavigableString(NEW_LINE))
    for element in content.find_all("dt"):
        element.insert_before(NavigableString(NEW_LINE))
    for element in content.find_all("dd"):
        element.insert_before(NavigableString(CELL))
        element.append(NavigableString(NEW_LINE))
    for element in content.find_all(BLOCKS):
        element.insert_before(NavigableString(NEW_LINE))
        element.append(NavigableString(NEW_LINE))
    return to_read(content.get_text(""))


def main_content(soup: BeautifulSoup) -> Tag:
    for found in (soup.find("main"), soup.find(None, {"role": "main"}), soup.find("article")):
        if isinstance(found, Tag):
            return found
    body = soup.find("body")
    return body if isinstance(body, Tag) else soup


def row_text(row: Tag) -> str:
    cells = [" ".join(cell.get_text(" ").split()) for cell in row.find_all(["th", "td"])]
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
