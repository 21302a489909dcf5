"""The overview's chart: each theme's items by status, drawn on the server as SVG (pygal).

No script runs in it (pygal's tooltips are left out: the pages carry no JavaScript), and the
same figures stand in a table beside it, so nothing depends on seeing the chart or its colours.
"""

from __future__ import annotations

import re
import sys

import pygal
from markupsafe import Markup
from pygal.style import Style

from worker.console.items import STATUSES

# pygal adds an import hook for its map plugins (unused here) that uses the deprecated
# find_module protocol, so every later import in the process warns: take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

# Colours with a 3:1 contrast against white and each other's neighbours (repeated in
# assets/_pages.scss, which draws the chart); the legend and the table name each status in
# words.
SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
# pygal's own <style> and style="…": the pages allow no inline style (the Content-Security-
# Policy), so the drawing's rules are in the service's stylesheet (assets/_pages.scss).
STYLE = re.compile(r"<style\b.*?</style>|\sstyle=\"[^\"]*\"", re.DOTALL)
# Theme names on the chart are cut to this many characters ("…" marks the cut; the full name is
# each label's title, and stands whole in the table beside): pygal sizes the label column to
# the longest name, so one long theme would otherwise squeeze every bar to a sliver.
LABEL_LENGTH = 36
# A label as pygal writes it on the bars' axis, with the title it adds (the bar's position).
LABEL = re.compile(r"(<text\b[^>]*>[^<]*</text>)<title>[^<]*</title>")
COLOURS = {"overdue": "#b10e1e", "due soon": "#a35200", "on track": "#0b3d6e",
           "no target date": "#505a5f", "complete": "#00703c"}  # fmt: skip


def status_chart(themes: dict[str, dict[str, int]], title: str) -> Markup:
    """A horizontal stacked bar per theme, one colour per status, as inline SVG."""
    style = Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1a1a1a",
        foreground_strong="#1a1a1a",
        foreground_subtle="#595959",
        font_family="Arial, Helvetica, sans-serif",
        colors=tuple(COLOURS[s] for s in STATUSES),
        label_font_size=14,
        legend_font_size=14,
        title_font_size=16,
    )
    chart = pygal.HorizontalStackedBar(
        style=style,
        js=[],
        disable_xml_declaration=True,
        width=720,
        height=120 + 48 * max(len(themes), 1),
        legend_at_bottom=True,
        legend_at_bottom_columns=2,  # two a row: each name in full beside its colour
        truncate_legend=-1,  # the statuses' names are short: never "over…"
        show_y_guides=False,
        print_values=False,
        title=title,
        explicit_size=False,
    )
    chart.x_labels = [shortened(theme) for theme in themes]
    for status in STATUSES:
        chart.add(status, [themes[t].get(status, 0) for t in themes])
    svg = titled(chart.render(is_unicode=True), list(themes))
    # pygal writes every label through an XML serialiser, so the drawing is escaped already,
    # and `titled` escapes the names it adds.
    return Markup(accessible(svg, title))  # noqa: S704


def shortened(name: str) -> str:
    """`name`, or its first words up to `LABEL_LENGTH` characters and "…"."""
    if len(name) <= LABEL_LENGTH:
        return name
    cut = name[: LABEL_LENGTH - 1]
    words = cut.rsplit(" ", 1)[0] if " " in cut[LABEL_LENGTH // 2 :] else cut
    return words.rstrip(" ,;:-") + "…"


def titled(svg: str, names: list[str]) -> str:
    """Each theme's label on the bars' axis titled with the theme's full name (pygal writes
    them in the order given, each followed by a title naming its position)."""
    start = svg.find('<g class="axis y')
    end = svg.find('<g class="axis x', start)
    if start < 0 or end < 0:  # no theme yet (pygal draws no labels), or its layout changed:
        return svg  # the drawing as it is, the table beside it naming every theme in full
    found = iter(names)

    def name(match: re.Match[str]) -> str:
        return f"{match.group(1)}<title>{Markup.escape(next(found, ''))}</title>"

    return svg[:start] + LABEL.sub(name, svg[start:end]) + svg[end:]


def accessible(svg: str, title: str) -> str:
    """Name the drawing for assistive technology (the table beside it carries the figures),
    and drop the configuration script pygal always writes (these pages run no script) and
    its inline styles."""
    label = Markup.escape(title)
    svg = STYLE.sub("", SCRIPT.sub("", svg))
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" focusable="false" ', 1)
