"""The network numbers of a device check in a few words, for the counselor's views."""

from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _

# Django's number_format cuts off digits rather than rounding: round first.


def network_summary(details: dict[str, Any] | None) -> str:
    """The network numbers as "120 ms round trip, 5.2 Mbit/s down, …"; "" if unmeasured."""
    if not details:
        return ""

    def number(key: str) -> float | None:
        value = details.get(key)
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return value if is_number else None

    parts = []
    if (rtt := number("rtt_ms")) is not None:
        parts.append(_("%(n)s ms round trip") % {"n": round(rtt)})
    if (down := number("down_kbps")) is not None:
        parts.append(_("%(n)s Mbit/s down") % {"n": number_format(round(down / 1000, 1), 1)})
    if (up := number("up_kbps")) is not None:
        parts.append(_("%(n)s Mbit/s up") % {"n": number_format(round(up / 1000, 1), 1)})
    if (loss := number("loss_pct")) is not None:
        parts.append(_("%(n)s %% lost") % {"n": number_format(round(loss, 1), 1)})
    return ", ".join(parts)
