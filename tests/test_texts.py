"""An agency writes its own consent text and privacy notice (A3): per language, as drafts that
its administrators edit, preview and publish; a published version never changes, every decision
keeps the version agreed to, and citizens find the privacy notice in their own language."""

import re

import pytest
from django.conf import settings
from django.urls import reverse
from tests.personas import make_staff

from videotermin.agencies.models import Agency, Location, StaffMember
from videotermin.appointments.services import NotAllowed
from videotermin.audit.models import AuditEntry
from videotermin.consent import publishing, services
from videotermin.consent.models import ConsentDecision, ConsentText, PublishedTextError

CONSENT, PRIVACY = ConsentText.Kind.CONSENT, ConsentText.Kind.PRIVACY


@pytest.fixture
def ada(admin_user):
    """Ada, administrator of the agency."""
    return admin_user


@pytest.fixture
def carla(other_agency):
    """Carla, administrator of another agency."""
    location = Location.objects.create(agency=other_agency, name="Anderswo")
    user = make_staff(other_agency, location, "carla", "Carla Wolf")
    StaffMember.objects.filter(user=user).update(role=StaffMember.Role.ADMIN)
    user.refresh_from_db()
    return user


@pytest.fixture
def ada_client(admin_client):
    return admin_client


def write(agency, by, *, kind=PRIVACY, language="de", title="Datenschutz", body="Neu."):
    return publishing.save_draft(
        agency, kind=kind, language=language, title=title, body=body, by=by
    )


def publish(agency, by, **options):
    """Write a draft and publish it at once, as an administrator does in two steps."""
    draft = write(agency, by, **options)
    return publishing.publish(
        agency, kind=draft.kind, language=draft.language, seen=draft.digest, by=by
    )


def reads(text, agency) -> str:
    """What a citizen reads of the text at the agency: its blocks, one after another."""
    blocks = services.paragraphs(text, agency)
    return "\n".join(
        "\n".join(block["bullets"]) if "bullets" in block else block.get("text") or block["heading"]
        for block in blocks
    )


def open_start_page(client, booking):
    return client.get(reverse("journey:link", args=[booking.token]), follow=True)


# Drafts and publishing


def test_a_draft_is_not_what_citizens_read(agency, ada):
    write(agency, ada, body="Entwurf.")
    assert services.privacy_notice(agency, "de").agency is None


def test_a_draft_can_be_changed_again_and_stays_one_draft(agency, ada):
    first = write(agency, ada, body="Erster Entwurf.")
    second = write(agency, ada, body="Zweiter Entwurf.")
    assert first.pk == second.pk
    assert publishing.draft(agency, PRIVACY, "de").body == "Zweiter Entwurf."
    assert second.version is None and second.is_draft


def test_publishing_makes_the_draft_what_citizens_read_and_is_audited(agency, ada):
    text = publish(agency, ada, body="Unsere Erklärung.")
    assert services.privacy_notice(agency, "de") == text
    assert (text.version, text.is_draft) == (1, False)
    assert publishing.draft(agency, PRIVACY, "de") is None
    entry = AuditEntry.objects.get(action="videotermin.consent.text_published")
    assert entry.actor == ada and entry.agency == agency
    assert entry.data == {"kind": "privacy", "language": "de", "version": 1}


def test_a_published_version_can_be_neither_changed_nor_deleted(agency, ada):
    text = publish(agency, ada, body="Veröffentlicht.")
    text.body = "Heimlich geändert."
    with pytest.raises(PublishedTextError):
        text.save()
    with pytest.raises(PublishedTextError):
        ConsentText.objects.get(pk=text.pk).delete()
    assert ConsentText.objects.get(pk=text.pk).body == "Veröffentlicht."


def test_changing_a_published_text_makes_a_new_draft_and_leaves_the_version_alone(agency, ada):
    text = publish(agency, ada, body="Version eins.")
    draft = write(agency, ada, body="Version zwei.")
    assert draft.pk != text.pk
    assert ConsentText.objects.get(pk=text.pk).body == "Version eins."


def test_versions_count_per_agency_kind_and_language(agency, ada, other_agency, carla):
    assert publish(agency, ada).version == 1
    assert publish(agency, ada).version == 2
    assert publish(agency, ada, language="en").version == 1
    assert publish(agency, ada, kind=CONSENT).version == 1
    assert publish(other_agency, carla).version == 1
    assert publish(agency, ada).version == 3


def test_a_draft_changed_after_the_preview_is_not_published(agency, ada):
    seen = write(agency, ada, body="Gelesen.").digest
    write(agency, ada, body="Danach von jemand anderem geändert.")
    with pytest.raises(NotAllowed):
        publishing.publish(agency, kind=PRIVACY, language="de", seen=seen, by=ada)
    assert not publishing.history(agency, PRIVACY, "de").exists()


def test_a_discarded_draft_is_gone_and_the_published_versions_stay(agency, ada):
    text = publish(agency, ada)
    write(agency, ada, body="Doch nicht.")
    publishing.discard_draft(agency, kind=PRIVACY, language="de", by=ada)
    assert publishing.draft(agency, PRIVACY, "de") is None
    assert list(publishing.history(agency, PRIVACY, "de")) == [text]


def test_a_placeholder_nobody_fills_in_is_refused(agency, ada):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="{behoerde}"):
        write(agency, ada, body="Verantwortlich ist {behoerde}.")
    assert publishing.draft(agency, PRIVACY, "de") is None


# Who may


def test_a_counselor_may_not_write_texts(agency, counselor):
    with pytest.raises(NotAllowed):
        write(agency, counselor)
    assert not ConsentText.objects.filter(agency=agency).exists()


def test_an_administrator_of_another_agency_may_not_write_or_publish_ours(agency, ada, carla):
    with pytest.raises(NotAllowed):
        write(agency, carla)
    draft = write(agency, ada)
    with pytest.raises(NotAllowed):
        publishing.publish(agency, kind=PRIVACY, language="de", seen=draft.digest, by=carla)
    assert publishing.draft(agency, PRIVACY, "de") is not None


def test_a_counselor_is_refused_the_texts_pages(client, counselor):
    client.force_login(counselor)
    assert client.get(reverse("administration:texts")).status_code == 403
    edit = reverse("administration:text_edit", args=["privacy", "de"])
    assert client.post(edit, {"title": "x", "body": "y"}).status_code == 403
    assert not ConsentText.objects.filter(agency__isnull=False).exists()


def test_another_agencys_versions_are_not_found(ada_client, other_agency, carla):
    publish(other_agency, carla, body="Nur für Anderswo.")
    write(other_agency, carla, body="Entwurf von Anderswo.")
    version = reverse("administration:text_version", args=["privacy", "de", 1])
    assert ada_client.get(version).status_code == 404
    preview = reverse("administration:text_preview", args=["privacy", "de"])
    assert ada_client.get(preview).status_code == 404
    page = ada_client.get(reverse("administration:texts")).text
    assert "Anderswo" not in page


def test_unknown_kinds_and_languages_are_not_found(ada_client):
    assert ada_client.get(reverse("administration:text_edit", args=["x", "de"])).status_code == 404
    edit = reverse("administration:text_edit", args=["privacy", "xx"])
    assert ada_client.get(edit).status_code == 404


# The pages of the administration


def test_ada_writes_previews_and_publishes_a_privacy_notice_in_english(ada_client, agency, ada):
    texts = ada_client.get(reverse("administration:texts"))
    assert "Datenschutzerklärung" in texts.text and "Einwilligungserklärung" in texts.text
    edit = reverse("administration:text_edit", args=["privacy", "en"])
    form = ada_client.get(edit)
    assert "Privacy notice" in form.text  # a new version starts from what citizens read now
    response = ada_client.post(
        edit, {"title": "Privacy notice", "body": "## Who\n\n{agency} is responsible."}
    )
    assert response.status_code == 302
    preview = ada_client.get(response.url)
    assert "Vorschau des Entwurfs" in preview.text
    assert "<h2>Who</h2>" in preview.text
    assert "Agentur für Arbeit Musterstadt is responsible." in preview.text
    assert not publishing.history(agency, PRIVACY, "en").exists()

    publish_url = reverse("administration:text_publish", args=["privacy", "en"])
    confirm = ada_client.get(publish_url)
    assert "als Version 1 veröffentlichen?" in confirm.text
    done = ada_client.post(publish_url, {"seen": confirm.context["draft"].digest}, follow=True)
    assert "ist veröffentlicht" in done.text
    assert services.privacy_notice(agency, "en").body == "## Who\n\n{agency} is responsible."


def test_a_draft_changed_by_someone_else_after_the_preview_is_not_published(
    ada_client, agency, ada, location
):
    preview = ada_client.get(reverse("administration:text_preview", args=["privacy", "de"]))
    assert preview.status_code == 404
    write(agency, ada, body="Was Ada gelesen hat.")
    preview = ada_client.get(reverse("administration:text_preview", args=["privacy", "de"]))
    [confirm_url] = re.findall(r'href="([^"]+/publish/\?seen=\w+)"', preview.text)
    bea = make_staff(agency, location, "bea", "Bea Brandt")
    StaffMember.objects.filter(user=bea).update(role=StaffMember.Role.ADMIN)
    bea.refresh_from_db()
    write(agency, bea, body="Was Bea danach geschrieben hat.")
    confirm = ada_client.get(confirm_url)
    response = ada_client.post(confirm_url, {"seen": confirm.context["seen"]}, follow=True)
    assert "inzwischen geändert" in response.text
    assert not publishing.history(agency, PRIVACY, "de").exists()


def test_a_publication_without_the_confirmation_of_what_was_seen_is_refused(
    ada_client, agency, ada
):
    write(agency, ada, language="en")
    publish_url = reverse("administration:text_publish", args=["privacy", "en"])
    response = ada_client.post(publish_url, {}, follow=True)
    assert "inzwischen geändert" in response.text
    assert not publishing.history(agency, PRIVACY, "en").exists()


def test_the_form_shows_an_unknown_placeholder_instead_of_saving(ada_client, agency):
    edit = reverse("administration:text_edit", args=["consent", "de"])
    response = ada_client.post(edit, {"title": "Einwilligung", "body": "Hallo {name}."})
    assert response.status_code == 200
    assert "Unbekannter Platzhalter: {name}" in response.text
    assert publishing.draft(agency, CONSENT, "de") is None


def test_the_list_shows_the_published_version_the_draft_and_the_history(ada_client, agency, ada):
    publish(agency, ada, body="Eins.")
    publish(agency, ada, body="Zwei.")
    write(agency, ada, title="Noch nicht veröffentlicht")
    page = ada_client.get(reverse("administration:texts")).text
    assert "lesen Version 2" in page
    assert "Noch nicht veröffentlicht" in page
    assert reverse("administration:text_version", args=["privacy", "de", 1]) in page
    old = ada_client.get(reverse("administration:text_version", args=["privacy", "de", 1]))
    assert "Eins." in old.text and "Zwei." not in old.text


# What citizens read


def test_a_new_agency_reads_the_shipped_defaults_with_its_own_details(agency):
    new = Agency.objects.create(
        name="Jobcenter Neustadt", slug="neustadt", support_phone="0800 123", retention_days=7
    )
    consent_text = services.current_text(new, "de")
    assert consent_text.agency is None and "14 Tagen automatisch gelöscht" in consent_text.body
    for language in ("de", "en"):
        notice = services.privacy_notice(new, language)
        assert notice.agency is None and notice.language == language
        shown = reads(notice, new)
        assert "Jobcenter Neustadt" in shown and "0800 123" in shown
        assert "{" not in shown
    assert "spätestens 7 Tage nach dem Termin" in reads(services.privacy_notice(new, "de"), new)


def test_no_placeholder_is_left_even_without_a_support_contact(other_agency):
    for language in ("de", "en"):
        shown = reads(services.privacy_notice(other_agency, language), other_agency)
        assert "{" not in shown
        assert "Jobcenter Anderswo" in shown


def test_the_default_texts_come_with_the_migrations_in_every_language(db):
    for kind in (PRIVACY, ConsentText.Kind.CONSENT):
        defaults = ConsentText.objects.filter(kind=kind, agency=None, version=1)
        assert sorted(defaults.values_list("language", flat=True)) == sorted(
            code for code, _name in settings.LANGUAGES
        )


def test_the_privacy_notice_falls_back_to_the_agencys_german_then_the_default(agency, ada):
    assert services.privacy_notice(agency, "en").agency is None
    german = publish(agency, ada, language="de")
    assert services.privacy_notice(agency, "en") == german
    english = publish(agency, ada, language="en")
    assert services.privacy_notice(agency, "en") == english


def test_the_start_page_links_the_privacy_notice_in_the_citizens_language(client, book, agency):
    page = open_start_page(client, book(language="en"))
    link = reverse("journey:privacy", args=[agency.public_id, "en"])
    assert f'<a href="{link}">Privacy notice</a>' in page.text


def test_a_german_citizen_finds_the_datenschutzerklaerung(client, booking, agency):
    page = open_start_page(client, booking)
    link = reverse("journey:privacy", args=[agency.public_id, "de"])
    assert f'<a href="{link}">Datenschutzerklärung</a>' in page.text


def test_the_privacy_page_shows_the_agencys_current_notice_and_no_draft(client, agency, ada):
    publish(agency, ada, title="Datenschutz bei uns", body="Verantwortlich ist {agency}.")
    write(agency, ada, body="Geheimer Entwurf.")
    response = client.get(reverse("journey:privacy", args=[agency.public_id, "de"]))
    assert response.status_code == 200
    assert "Datenschutz bei uns" in response.text
    assert "Verantwortlich ist Agentur für Arbeit Musterstadt." in response.text
    assert "Geheimer Entwurf" not in response.text
    assert 'lang="de"' in response.text


def test_the_privacy_page_loads_nothing_from_elsewhere_and_no_script(client, agency):
    response = client.get(reverse("journey:privacy", args=[agency.public_id, "en"]))
    assert "We do not store your IP address" in response.text
    assert "<script" not in response.text
    for address in re.findall(r'(?:src|href)="([^"]+)"', response.text):
        assert not address.startswith(("http:", "https:", "//")), address
    assert len(response.content) < 20_000


def test_the_privacy_page_of_an_unknown_agency_or_language_is_not_found(client, agency):
    from uuid import uuid4

    assert client.get(reverse("journey:privacy", args=[uuid4(), "de"])).status_code == 404
    assert client.get(reverse("journey:privacy", args=[agency.public_id, "xx"])).status_code == 404


# What a decision records


def test_a_new_citizen_agrees_to_version_two_and_an_earlier_decision_stays_with_version_one(
    client, book, agency, ada
):
    first = publish(agency, ada, kind=CONSENT, title="Einwilligung", body="Version eins.")
    earlier = book(name="Erika Früh", email="erika@example.org")
    open_start_page(client, earlier)
    client.post(
        reverse("journey:consent", args=[earlier.citizen.public_id]),
        {"text": first.pk, "decision": "accept"},
    )
    second = publish(agency, ada, kind=CONSENT, title="Einwilligung", body="Version zwei.")

    later = book(name="Lars Spät", email="lars@example.org")
    page = open_start_page(client, later)
    assert "Version zwei." in page.text
    client.post(
        reverse("journey:consent", args=[later.citizen.public_id]),
        {"text": second.pk, "decision": "accept"},
    )
    assert ConsentDecision.objects.get(member=later.citizen).text == second
    assert ConsentDecision.objects.get(member=earlier.citizen).text == first
    assert second.version == first.version + 1 == 2


def test_agreeing_to_a_version_replaced_meanwhile_asks_to_read_again(client, booking, agency, ada):
    open_start_page(client, booking)
    shown = services.current_text(agency, "de")
    publish(agency, ada, kind=CONSENT, title="Einwilligung", body="Neue Fassung.")
    response = client.post(
        reverse("journey:consent", args=[booking.citizen.public_id]),
        {"text": shown.pk, "decision": "accept"},
    )
    assert "Neue Fassung." in response.text
    assert not ConsentDecision.objects.filter(member=booking.citizen).exists()


def test_nobody_can_agree_to_a_draft_or_a_privacy_notice(citizen, agency, ada):
    with pytest.raises(ValueError):
        services.decide(citizen, write(agency, ada, kind=CONSENT), accepted=True)
    with pytest.raises(ValueError):
        services.decide(citizen, services.privacy_notice(agency, "de"), accepted=True)
