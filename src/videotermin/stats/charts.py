"""Bar charts drawn on the server as SVG: no chart library, no script.

Each chart is an image with a title and a description naming every figure (`role="img"`,
`aria-labelledby`); the table beside it is the full truth. Every bar has its label above it and
its figure at its end, so nothing depends on colour, and the bars' colour has more than 8:1
contrast to the white ground (at least 3:1 is needed for graphics). A suppressed figure draws
no bar, only its words: a bar's length would give the figure away.
"""

from typing import Any

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 360
BAR_SPACE = 250
LABEL_HEIGHT = 20
BAR_HEIGHT = 20
ROW_GAP = 12
FONT_SIZE = 14
# Room for about 46 characters of 14 px beside nothing else; longer labels are shortened in
# the picture only, the table has them whole.
LABEL_CHARACTERS = 46
BAR_COLOUR = "#00526e"
TEXT_COLOUR = "#1a1a1a"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def fewer_than_minimum() -> str:
    return _("fewer than 5")


def cell_text(cell: dict[str, Any], unit: str = "") -> str:
    """A figure as a person reads it: the number in the page's format, or why there is none."""
    if cell["suppressed"]:
        return fewer_than_minimum()
    if cell["value"] is None:
        return "–"
    number = number_format(cell["value"], use_l10n=True, force_grouping=True)
    if unit == "percent":
        return _("%(number)s %%") % {"number": number}
    if unit == "minutes":
        return _("%(number)s min") % {"number": number}
    if unit == "seconds":
        return _("%(number)s s") % {"number": number}
    return number


def _shorten(label: str) -> str:
    return label if len(label) <= LABEL_CHARACTERS else label[: LABEL_CHARACTERS - 1] + "…"


def _row_text(row: dict[str, Any]) -> str:
    text = cell_text(row["count"])
    if not row["count"]["suppressed"] and row["percent"]["value"] is not None:
        text += " (" + cell_text(row["percent"], "percent") + ")"
    return text


def description(table: dict[str, Any]) -> str:
    """Every figure of the chart in one sentence, for those who cannot see it."""
    parts = [f"{row['label']}: {_row_text(row)}" for row in table["rows"]]
    total = _("Total: %(total)s") % {"total": cell_text(table["total"])}
    return "; ".join([*parts, total]) + "."


def bar_chart(table: dict[str, Any], *, dom_id: str) -> SafeString:
    """The table's rows as horizontal bars, longest figure full length."""
    rows = table["rows"]
    shown = [
        row["count"]["value"]
        for row in rows
        if not row["count"]["suppressed"] and row["count"]["value"]
    ]
    longest = max(shown, default=0)
    parts = []
    y = 0
    for row in rows:
        y += LABEL_HEIGHT
        parts.append(
            f'<text x="0" y="{y - 5}" class="chart-label">{escape(_shorten(row["label"]))}</text>'
        )
        cell = row["count"]
        text_x = 0
        if not cell["suppressed"] and cell["value"]:
            length = max(2, round(BAR_SPACE * cell["value"] / longest))
            parts.append(
                f'<rect x="0" y="{y}" width="{length}" height="{BAR_HEIGHT}" fill="{BAR_COLOUR}"/>'
            )
            text_x = length + 6
        parts.append(
            f'<text x="{text_x}" y="{y + BAR_HEIGHT - 5}" class="chart-value">'
            f"{escape(_row_text(row))}</text>"
        )
        y += BAR_HEIGHT + ROW_GAP
    height = max(y, LABEL_HEIGHT)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{dom_id}-title {dom_id}-desc" focusable="false" '
        f'font-family="{escape(FONT)}" font-size="{FONT_SIZE}" fill="{TEXT_COLOUR}">'
        f'<title id="{dom_id}-title">{escape(table["title"])}</title>'
        f'<desc id="{dom_id}-desc">{escape(description(table))}</desc>' + "".join(parts) + "</svg>"
    )
    return mark_safe(svg)  # noqa: S308  (every text in it is escaped above)
