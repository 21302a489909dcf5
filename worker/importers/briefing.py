"""Learning briefings: the recommendations of one review, as the partnership presents them.

The review is named in a heading ("Serious Case Review: Case A1", "LCSPR: Child D", "Rapid
Review - Child E"); each recommendation is a heading "Recommendation 1." (in any markup:
"## **Recommendation 1.**") followed by its text, which runs to the next blank line or
heading. Everything else in the briefing (the case summary, the learning, the response) is
the partnership's prose and is not imported.
"""

from __future__ import annotations

import re

from worker.importers.documents import ParsedBriefing, ParsedRecommendation
from worker.importers.errors import refuse
from worker.importers.text import one_line

REVIEW_KINDS = (
    r"serious\s+case\s+review|local\s+child\s+safeguarding\s+practice\s+review|lcspr"
    r"|child\s+safeguarding\s+practice\s+review|rapid\s+review|safeguarding\s+adults?\s+review"
)
REVIEW = re.compile(rf"\b(?:{REVIEW_KINDS})\s*[:\-\u2013\u2014]\s*(\S.*)", re.I)
HEADING = re.compile(r"recommendation\s+(\d{1,3})\s*[.:]?", re.I)
MARKUP = re.compile(r"^[#>*_\s]+|[*_\s]+$")


def bare(line: str) -> str:
    """A line without the markup around a heading ("## **Recommendation 1.**")."""
    return MARKUP.sub("", one_line(line))


def looks_like_briefing(lines: list[str]) -> bool:
    return any(HEADING.fullmatch(bare(line)) for line in lines) and review_of(lines) is not None


def review_of(lines: list[str]) -> str | None:
    """The review the briefing is about, from the first heading that names one."""
    for line in lines:
        found = REVIEW.search(bare(line))
        if found is not None and len(line) < 200:
            return bare(found.group(1)).strip(" .:")
    return None


def parse_briefing(lines: list[str]) -> ParsedBriefing:
    review = review_of(lines)
    if not review:
        raise refuse("no review named (a heading such as 'Serious Case Review: Case A1')")
    found: dict[int, ParsedRecommendation] = {}
    for index, line in enumerate(lines):
        heading = HEADING.fullmatch(bare(line))
        if heading is None:
            continue
        number = int(heading.group(1))
        if number in found:
            reason = f"Recommendation {number} twice (first on line {found[number].line})"
            raise refuse(reason, index + 1, "Recommendation", bare(line))
        found[number] = ParsedRecommendation(number, text_after(lines, index), index + 1)
    return ParsedBriefing(review, tuple(found.values()))


def text_after(lines: list[str], index: int) -> str:
    """The paragraph after the heading on `lines[index]`: to the next blank line or heading;
    a paragraph ending with a colon goes on into the list it introduces."""
    taken: list[str] = []
    for line in lines[index + 1 :]:
        text = one_line(line.replace("\t", " "))
        if not text:
            if taken and not taken[-1].endswith(":"):
                break
            continue
        if line.lstrip().startswith("#") or HEADING.fullmatch(bare(line)):
            break
        taken.append(text)
    if not taken:
        raise refuse("a recommendation with no text under it", index + 1, "Recommendation",
                     bare(lines[index]))  # fmt: skip
    return " ".join(taken)
