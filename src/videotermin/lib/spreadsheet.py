"""Cells of CSV files that people open in a spreadsheet."""

from typing import Any

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Put before the first line, it tells Excel that the file is UTF-8 (umlauts).
BYTE_ORDER_MARK = "\ufeff"


def safe(value: Any) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a quote first."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
