"""The agency's own look (A2): its name, logo and colours as the citizen sees them, and the
contrast the colours must keep (N6: WCAG 2.1 AA, 4.5:1 for text)."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _

COLOR = re.compile(r"^#[0-9a-f]{6}$")
WHITE = "#ffffff"
MIN_CONTRAST = 4.5
# The logo is shown at most this high in the page header and in e-mails.
LOGO_HEIGHT = 40


def normalise_color(value: str) -> str:
    """`#RRGGBB` in lower case, or a ValidationError."""
    color = (value or "").strip().lower()
    if not COLOR.match(color):
        raise ValidationError(
            _("Give a colour as # followed by six hexadecimal digits, e.g. #00526e."),
            code="color",
        )
    return color


def luminance(color: str) -> float:
    """WCAG 2.1's relative luminance of an sRGB colour `#rrggbb`."""

    def channel(hex_digits: str) -> float:
        value = int(hex_digits, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def contrast_problems(primary: str, text: str) -> dict[str, str]:
    """Why these colours would make text hard to read, by field; empty if they are fine.

    The primary colour is the ground of the header and of buttons (text colour on it), and the
    colour of links and of secondary buttons' text on the white page.
    """
    problems = {}
    on_white = contrast(primary, WHITE)
    if on_white < MIN_CONTRAST:
        problems["primary_color"] = _(
            "Links and buttons in this colour on the white page reach a contrast of only "
            "%(ratio)s:1; at least %(needed)s:1 is needed for text. Choose a darker colour."
        ) % {"ratio": _ratio(on_white), "needed": _ratio(MIN_CONTRAST)}
    on_primary = contrast(text, primary)
    if on_primary < MIN_CONTRAST:
        problems["text_color"] = _(
            "Text in this colour on the primary colour reaches a contrast of only %(ratio)s:1; "
            "at least %(needed)s:1 is needed. Choose a lighter text colour (white always works "
            "on a primary colour that passes)."
        ) % {"ratio": _ratio(on_primary), "needed": _ratio(MIN_CONTRAST)}
    return problems


def _ratio(value: float) -> str:
    # Rounded down, so that 4.49 never reads as the 4.5 it misses.
    return f"{int(value * 100) / 100:.2f}".rstrip("0").rstrip(".")


def check_contrast(primary: str, text: str) -> None:
    problems = contrast_problems(primary, text)
    if problems:
        raise ValidationError(problems)


@dataclass(frozen=True)
class Look:
    """What a citizen sees of an agency (or of its location): name, colours, logo."""

    name: str
    primary: str
    text: str
    logo_digest: str = ""
    logo_type: str = ""
    logo_width: int = 0
    logo_height: int = 0
    # A logo not saved yet, shown in the administration's preview.
    logo_data_url: str = ""

    @property
    def stylesheet_url(self) -> str:
        return reverse("look:colors", args=[self.colors])

    @property
    def colors(self) -> str:
        return f"{self.primary[1:]}-{self.text[1:]}"

    @property
    def logo_url(self) -> str:
        from videotermin.agencies.logos import EXTENSIONS

        if self.logo_data_url:
            return self.logo_data_url
        if not self.logo_digest:
            return ""
        return reverse("look:logo", args=[self.logo_digest, EXTENSIONS[self.logo_type]])

    @property
    def logo_absolute_url(self) -> str:
        return settings.SITE_URL + self.logo_url if self.logo_digest else ""

    @property
    def email_logo(self) -> bool:
        """Mail programs show PNG; many (Gmail, Outlook) show no SVG at all."""
        return self.logo_type == "image/png"

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height in the header: at most LOGO_HEIGHT high, in proportion."""
        if self.logo_height <= LOGO_HEIGHT:
            return self.logo_width, self.logo_height
        return max(1, round(self.logo_width * LOGO_HEIGHT / self.logo_height)), LOGO_HEIGHT

    @property
    def display_width(self) -> int:
        return self.display_size[0]

    @property
    def display_height(self) -> int:
        return self.display_size[1]


def look_of(agency, location=None) -> Look:
    """The look of `agency`, with what `location` overrides (for appointments there)."""
    from videotermin.agencies.models import Logo

    cache_key = f"_look_{location.pk if location is not None else ''}"
    cached = getattr(agency, cache_key, None)
    if cached is not None:
        return cached
    name, primary, text, logo_id = (
        agency.name,
        agency.primary_color,
        agency.text_color,
        agency.logo_id,
    )
    if location is not None:
        name = location.display_name or name
        primary = location.primary_color or primary
        text = location.text_color or text
        logo_id = location.logo_id or logo_id
    logo = (
        Logo.objects.filter(pk=logo_id).values("digest", "content_type", "width", "height").first()
        if logo_id
        else None
    )
    look = Look(
        name=name,
        primary=primary,
        text=text,
        logo_digest=logo["digest"] if logo else "",
        logo_type=logo["content_type"] if logo else "",
        logo_width=logo["width"] if logo else 0,
        logo_height=logo["height"] if logo else 0,
    )
    setattr(agency, cache_key, look)
    return look
