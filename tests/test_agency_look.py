"""The agency's own look (A2): an administrator sets logo and colours, safely and readably;
citizens see them on every page and in every e-mail."""

import gzip
import re
import struct
import zlib
from contextlib import contextmanager

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from tests.personas import make_staff

from videotermin.administration import services
from videotermin.agencies import logos
from videotermin.agencies.look import contrast, contrast_problems, look_of
from videotermin.agencies.models import Agency, Location, Logo, StaffMember
from videotermin.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def png(width: int = 120, height: int = 40, *, extra: bytes = b"", data: bytes | None = None):
    """A real RGB PNG of one colour, written with the standard library."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    rows = b"".join(b"\0" + b"\x00\x52\x6e" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(rows, 9) if data is None else data
    return (
        logos.PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def text_chunk(text: bytes) -> bytes:
    return (
        struct.pack(">I", len(text))
        + b"tEXt"
        + text
        + struct.pack(">I", zlib.crc32(b"tEXt" + text))
    )


LOGO_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 50">'
    b'<defs><linearGradient id="g"><stop offset="0" stop-color="#00526e"/></linearGradient></defs>'
    b'<rect width="200" height="50" fill="url(#g)"/><text x="10" y="30">Amt</text></svg>'
)


@contextmanager
def refused(code: str):
    """The logo is refused, for the reason named by `code` (the message is in the reader's
    language)."""
    with pytest.raises(ValidationError) as caught:
        yield
    assert caught.value.code == code


def sanitised(svg: bytes) -> str:
    return logos.read_logo(svg).data.decode()


def look_form(**changes):
    values = {"primary_color": "#00526e", "text_color": "#ffffff"}
    values.update(changes)
    return values


# Who may change it


def test_a_counselor_may_not_change_the_look(client, counselor):
    client.force_login(counselor)
    assert client.get(reverse("administration:look")).status_code == 403
    assert client.post(reverse("administration:look"), look_form()).status_code == 403


def test_an_administrator_of_another_agency_finds_no_location_of_ours(
    client, location, other_agency
):
    charlie = make_staff(
        other_agency,
        Location.objects.create(agency=other_agency, name="X"),
        "charlie",
        "Charlie Weber",
    )
    StaffMember.objects.filter(user=charlie).update(role=StaffMember.Role.ADMIN)
    client.force_login(charlie)
    url = reverse("administration:location_look", args=[location.public_id])
    assert client.get(url).status_code == 404
    assert client.post(url, look_form(own_colors="on", primary_color="#8a0000")).status_code == 404
    location.refresh_from_db()
    assert location.primary_color == ""


def test_the_administration_shows_the_look_tab(admin_client):
    page = admin_client.get(reverse("administration:settings")).text
    assert reverse("administration:look") in page


# Colours


def test_the_wcag_contrast_of_black_on_white_is_21_and_of_the_default_above_4_5():
    assert round(contrast("#000000", "#ffffff"), 2) == 21
    assert contrast("#00526e", "#ffffff") > 4.5
    assert not contrast_problems("#00526e", "#ffffff")


def test_a_light_primary_colour_is_refused_with_its_ratio_and_what_is_needed(admin_client, agency):
    response = admin_client.post(reverse("administration:look"), look_form(primary_color="#ffcc00"))
    assert response.status_code == 200
    [error] = response.context["form"].errors["primary_color"]
    assert "1.51:1" in error and "4.5:1" in error  # the ratio reached, and the one needed
    agency.refresh_from_db()
    assert agency.primary_color == "#00526e"


def test_text_that_is_too_close_to_the_primary_colour_is_refused(admin_client, agency):
    response = admin_client.post(reverse("administration:look"), look_form(text_color="#3a7a90"))
    [error] = response.context["form"].errors["text_color"]
    assert "4.5:1" in error
    assert not AuditEntry.objects.filter(action="videotermin.agency.look_changed").exists()


def test_the_service_refuses_low_contrast_too(agency, admin_user):
    with pytest.raises(ValidationError):
        services.change_look(agency, by=admin_user, primary_color="#777777", text_color="#ffffff")


def test_the_colours_are_saved_and_audited_with_the_fields_only(admin_client, admin_user, agency):
    response = admin_client.post(reverse("administration:look"), look_form(primary_color="#8A0000"))
    assert response.status_code == 302
    agency.refresh_from_db()
    assert agency.primary_color == "#8a0000"
    entry = AuditEntry.objects.get(action="videotermin.agency.look_changed")
    assert entry.actor == admin_user
    assert entry.data == {"fields": ["primary_color"]}


def test_preview_shows_the_colours_without_saving_them(admin_client, agency):
    response = admin_client.post(
        reverse("administration:look"), look_form(primary_color="#8a0000", preview="1")
    )
    assert response.status_code == 200
    page = response.text
    assert reverse("look:preview_colors", args=["8a0000-ffffff"]) in page
    assert "look-preview" in page
    agency.refresh_from_db()
    assert agency.primary_color == "#00526e"


def test_the_preview_style_sheet_colours_only_the_preview():
    response = reverse("look:preview_colors", args=["8a0000-ffffff"])
    from django.test import Client

    body = Client().get(response).text
    assert body.startswith(".look-preview{--brand:#8a0000;--brand-text:#ffffff}")


# Logo uploads


def upload(admin_client, content: bytes, name: str = "logo.png", url=None, **fields):
    return admin_client.post(
        url or reverse("administration:look"),
        look_form(logo=SimpleUploadedFile(name, content), **fields),
    )


def test_a_png_logo_is_stored_in_the_database_with_its_size(admin_client, agency):
    response = upload(admin_client, png(120, 40))
    assert response.status_code == 302
    agency.refresh_from_db()
    assert (agency.logo.content_type, agency.logo.width, agency.logo.height) == (
        "image/png",
        120,
        40,
    )
    assert AuditEntry.objects.get(action="videotermin.agency.look_changed").data["fields"] == [
        "logo"
    ]


def test_a_png_loses_its_text_chunks(agency):
    logo = logos.read_logo(png(extra=text_chunk(b"Author\0Ada Richter")))
    assert b"Ada Richter" not in logo.data
    assert logo.data.startswith(logos.PNG_SIGNATURE)


@pytest.mark.parametrize(
    "content,code",
    [
        (png(1001, 10), "pixels"),
        (png(10, 10, data=zlib.compress(b"\0" * 10)), "broken"),
        (png(10, 10)[:-6], "broken"),
        (png(10, 10).replace(b"IHDR", b"IHDX"), "broken"),
        (b"GIF89a....", "type"),
        (png(10, 10, extra=text_chunk(b"x" * 30_000)), "size"),
    ],
    ids=["too-wide", "too-little-data", "truncated", "no-header", "gif", "too-large"],
)
def test_a_bad_png_is_refused_with_a_reason(admin_client, agency, content, code):
    response = upload(admin_client, content)
    assert response.status_code == 200
    assert [error.code for error in response.context["form"].errors.as_data()["logo"]] == [code]
    agency.refresh_from_db()
    assert agency.logo is None


def test_an_svg_logo_keeps_its_shapes_and_size(agency):
    logo = logos.read_logo(LOGO_SVG)
    assert (logo.content_type, logo.width, logo.height) == ("image/svg+xml", 200, 50)
    assert 'fill="url(#g)"' in logo.data.decode()
    assert "<text" in logo.data.decode() and "Amt" in logo.data.decode()


def test_a_large_svg_is_refused():
    padding = b"<!--" + b"x" * 60_000 + b"-->"
    with refused("size"):
        logos.read_logo(LOGO_SVG.replace(b"<defs>", padding + b"<defs>"))


def test_an_svg_that_compresses_badly_is_refused_for_the_budget():
    import random

    rng = random.Random(1)
    noise = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(40_000))
    svg = LOGO_SVG.replace(b"Amt", noise.encode())
    with refused("size"):
        logos.read_logo(svg)
    assert len(gzip.compress(svg)) > logos.SVG_MAX_COMPRESSED


# The sanitiser: hostile SVGs


SVG_OPEN = (
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
    b' width="100" height="40">'
)


def test_a_script_element_is_dropped():
    clean = sanitised(SVG_OPEN + b"<script>alert(1)</script><rect width='1' height='1'/></svg>")
    assert "script" not in clean and "alert" not in clean
    assert "<rect" in clean


def test_event_handlers_are_dropped():
    clean = sanitised(
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)">'
        b'<rect width="5" height="5" onclick="alert(2)" onmouseover="x()"/></svg>'
    )
    assert "alert" not in clean and "onload" not in clean and "onclick" not in clean


def test_external_and_javascript_links_are_dropped_local_ones_kept():
    clean = sanitised(
        SVG_OPEN
        + b'<defs><symbol id="s"><rect width="1" height="1"/></symbol></defs>'
        + b'<use xlink:href="#s"/>'
        + b'<use xlink:href="javascript:alert(1)"/>'
        + b'<use href="https://evil.example/x.svg#a"/>'
        + b'<image href="https://evil.example/track.png" width="1" height="1"/>'
        + b'<a xlink:href="javascript:alert(2)"><rect width="1" height="1"/></a></svg>'
    )
    assert 'xlink:href="#s"' in clean
    assert "javascript" not in clean and "evil" not in clean and "<image" not in clean
    assert "<a" not in clean


def test_a_doctype_and_the_billion_laughs_are_refused():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&lol3;</text></svg>'
    )
    with refused("doctype"):
        logos.read_logo(laughs)
    external = (
        b'<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&xxe;</text></svg>'
    )
    with refused("doctype"):
        logos.read_logo(external)


def test_foreign_object_with_html_is_dropped_with_everything_in_it():
    clean = sanitised(
        SVG_OPEN
        + b'<foreignObject width="100" height="40"><body xmlns="http://www.w3.org/1999/xhtml">'
        + b'<iframe src="https://evil.example"></iframe><p>Hallo</p></body></foreignObject>'
        + b'<circle r="3"/></svg>'
    )
    assert "foreignObject" not in clean and "iframe" not in clean and "Hallo" not in clean
    assert "<circle" in clean


def test_css_that_loads_anything_is_dropped():
    clean = sanitised(
        SVG_OPEN
        + b"<style>@import url(https://evil.example/a.css);</style>"
        + b"<style>.a { fill: #00526e }</style>"
        + b'<rect class="a" width="1" height="1" style="fill: url(https://evil.example/p)"/>'
        + b'<rect width="1" height="1" style="background:u\\72l(https://evil.example)"/>'
        + b'<rect width="1" height="1" fill="url(https://evil.example/#g)"/>'
        + b'<rect width="1" height="1" style="fill: red"/></svg>'
    )
    assert "evil" not in clean and "@import" not in clean and "\\72" not in clean
    assert ".a { fill: #00526e }" in clean
    assert 'style="fill: red"' in clean


def test_animation_and_unknown_namespaces_are_dropped():
    clean = sanitised(
        SVG_OPEN
        + b'<a id="x"><set attributeName="href" to="javascript:alert(1)"/></a>'
        + b'<animate attributeName="href" values="javascript:alert(1)"/>'
        + b'<metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></metadata>'
        + b"</svg>"
    )
    assert "javascript" not in clean and "set" not in clean.replace("offset", "")
    assert "rdf" not in clean


def test_an_svg_without_a_size_or_not_an_svg_is_refused():
    with refused("no_size"):
        logos.read_logo(b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>')
    with refused("type"):
        logos.read_logo(b'<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>')
    with refused("broken"):
        logos.read_logo(b"<svg xmlns='http://www.w3.org/2000/svg' width='1' height='1'>")


def test_the_stored_svg_is_the_sanitised_one(admin_client, agency):
    hostile = SVG_OPEN + b'<script>alert(1)</script><rect width="9" height="9" onload="x()"/></svg>'
    assert upload(admin_client, hostile, "logo.svg").status_code == 302
    agency.refresh_from_db()
    stored = bytes(agency.logo.data)
    assert b"script" not in stored and b"onload" not in stored
    assert logos.read_logo(stored).data == stored  # sanitising again changes nothing


# Serving the logo


def test_the_logo_is_served_with_its_type_a_strict_policy_and_a_long_cache(
    client, agency, admin_user
):
    services.change_look(
        agency,
        by=admin_user,
        primary_color="#00526e",
        text_color="#ffffff",
        logo=logos.read_logo(LOGO_SVG),
    )
    url = look_of(Agency.objects.get(pk=agency.pk)).logo_url
    assert re.fullmatch(r"/look/logo/[0-9a-f]{64}\.svg", url)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == "inline"
    assert (
        "immutable" in response["Cache-Control"] and "max-age=31536000" in response["Cache-Control"]
    )
    assert response.content == logos.read_logo(LOGO_SVG).data
    # The same for everybody: a browser keeps it when a cookie or the language changes.
    assert "Cookie" not in response.get("Vary", "")
    assert "Accept-Language" not in response.get("Vary", "")
    colours = client.get(look_of(Agency.objects.get(pk=agency.pk)).stylesheet_url)
    assert colours.status_code == 200 and "Cookie" not in colours.get("Vary", "")


def test_a_replaced_logo_is_gone_and_a_wrong_extension_finds_nothing(client, agency, admin_user):
    services.change_look(
        agency,
        by=admin_user,
        primary_color="#00526e",
        text_color="#ffffff",
        logo=logos.read_logo(png()),
    )
    first = look_of(Agency.objects.get(pk=agency.pk)).logo_url
    assert client.get(first.replace(".png", ".svg")).status_code == 404
    services.change_look(
        agency,
        by=admin_user,
        primary_color="#00526e",
        text_color="#ffffff",
        logo=logos.read_logo(LOGO_SVG),
    )
    assert client.get(first).status_code == 404
    assert Logo.objects.count() == 1
    services.change_look(
        agency, by=admin_user, primary_color="#00526e", text_color="#ffffff", logo=None
    )
    assert Logo.objects.count() == 0


# What the citizen sees


def open_start_page(client, booking):
    return client.get(reverse("journey:link", args=[booking.token]), follow=True)


def test_the_start_page_shows_the_agencys_logo_name_and_colours(client, agency, admin_user, book):
    services.change_look(
        agency,
        by=admin_user,
        primary_color="#8a0000",
        text_color="#ffffff",
        logo=logos.read_logo(png(300, 100)),
    )
    page = open_start_page(client, book()).text
    stylesheet = reverse("look:colors", args=["8a0000-ffffff"])
    assert f'<link rel="stylesheet" href="{stylesheet}">' in page
    logo_url = look_of(Agency.objects.get(pk=agency.pk)).logo_url
    assert (
        f'<img class="brand-logo" src="{logo_url}" alt="{agency.name}" width="120" height="40">'
        in page
    )
    css = client.get(stylesheet)
    assert css["Content-Type"].startswith("text/css")
    assert css.text.startswith(":root{--brand:#8a0000;--brand-text:#ffffff}")


def test_appointments_at_a_location_show_its_own_look(client, agency, location, admin_user, book):
    services.change_look(
        location,
        by=admin_user,
        display_name="Jobcenter Mitte",
        primary_color="#1d3b00",
        text_color="",
        logo=logos.read_logo(LOGO_SVG),
    )
    page = open_start_page(client, book()).text
    assert reverse("look:colors", args=["1d3b00-ffffff"]) in page
    assert 'alt="Jobcenter Mitte"' in page
    entry = AuditEntry.objects.get(action="videotermin.agency.look_changed")
    assert entry.data == {
        "fields": ["display_name", "logo", "primary_color"],
        "location": str(location.public_id),
    }


def test_a_location_may_not_break_the_contrast_either(location, admin_user):
    with pytest.raises(ValidationError):
        services.change_look(location, by=admin_user, primary_color="#cccccc", text_color="")


def test_the_start_page_without_a_logo_shows_the_name(client, agency, book):
    page = open_start_page(client, book()).text
    assert "brand-logo" not in page
    assert agency.name in page
    assert reverse("look:colors", args=["00526e-ffffff"]) in page


def test_the_invitation_email_carries_the_look_and_the_logo_from_our_server(
    settings, agency, admin_user, book, django_capture_on_commit_callbacks
):
    services.change_look(
        agency,
        by=admin_user,
        primary_color="#8a0000",
        text_color="#fffbe6",
        logo=logos.read_logo(png()),
    )
    with django_capture_on_commit_callbacks(execute=True):
        book()
    [message] = mail.outbox
    html = message.alternatives[0][0]
    logo_url = settings.SITE_URL + look_of(Agency.objects.get(pk=agency.pk)).logo_url
    assert f'<img src="{logo_url}" alt="{agency.name}" width="120" height="40"' in html
    assert "background:#8a0000;color:#fffbe6;" in html
    assert not re.search(r'src="(?!' + re.escape(settings.SITE_URL) + ")", html)


def test_an_svg_logo_is_left_out_of_emails(
    agency, admin_user, book, django_capture_on_commit_callbacks
):
    services.change_look(
        agency,
        by=admin_user,
        primary_color="#00526e",
        text_color="#ffffff",
        logo=logos.read_logo(LOGO_SVG),
    )
    with django_capture_on_commit_callbacks(execute=True):
        book()
    html = mail.outbox[0].alternatives[0][0]
    assert "<img" not in html
    assert agency.name in html
