"""Consent texts are versioned per agency and language; each person's decision is recorded."""

from tests.personas import agree

from videotermin.audit.models import AuditEntry
from videotermin.consent import services
from videotermin.consent.models import ConsentDecision, ConsentText


def test_the_default_german_text_is_the_ba_consent_text(agency):
    text = services.current_text(agency, "de")
    assert text.agency is None
    assert "14 Tagen automatisch gelöscht" in text.body


def test_an_english_text_exists(agency):
    assert "deleted automatically after 14 days" in services.current_text(agency, "en").body


def test_an_agencys_newer_own_version_wins(agency):
    ConsentText.objects.create(agency=agency, language="de", version=2, title="Neu", body="Text")
    assert services.current_text(agency, "de").version == 2


def test_an_agency_never_sees_another_agencys_text(agency, other_agency):
    ConsentText.objects.create(agency=other_agency, language="de", version=9, title="X", body="Y")
    assert services.current_text(agency, "de").agency is None


def test_an_unknown_language_falls_back_to_english(agency):
    assert services.current_text(agency, "xx").language == "en"


def test_agreeing_records_version_and_time(citizen, agency):
    text = services.current_text(agency, "de")
    services.decide(citizen, text, accepted=True)
    decision = ConsentDecision.objects.get(member=citizen)
    assert decision.accepted and decision.text.version == text.version
    citizen.refresh_from_db()
    assert citizen.consented_at is not None


def test_declining_deletes_stored_device_data(citizen, agency):
    text = services.current_text(agency, "de")
    services.decide(citizen, text, accepted=True)
    citizen.check_result, citizen.browser = "green", "Firefox 130"
    citizen.save()
    services.decide(citizen, text, accepted=False)
    citizen.refresh_from_db()
    assert citizen.consented_at is None
    assert (citizen.check_result, citizen.browser) == ("", "")


def test_paragraphs_keep_bullet_lists_together(agency):
    blocks = services.paragraphs(services.current_text(agency, "de"))
    assert any(len(block.get("bullets", [])) == 5 for block in blocks)


def test_olga_decides_for_herself_in_her_own_language(interpreter_booking, agency):
    [(olga, _token)] = interpreter_booking.extras
    dana = interpreter_booking.citizen
    agree(olga)
    decision = ConsentDecision.objects.get(member=olga)
    assert decision.accepted and decision.text.language == "en"
    dana.refresh_from_db()
    assert dana.consented_at is None
    assert not ConsentDecision.objects.filter(member=dana).exists()


def test_declining_after_agreeing_keeps_both_decisions(citizen, agency):
    text = services.current_text(agency, "de")
    services.decide(citizen, text, accepted=True)
    services.decide(citizen, text, accepted=False)
    assert list(
        ConsentDecision.objects.filter(member=citizen).order_by("pk").values_list("accepted")
    ) == [(True,), (False,)]
    citizen.refresh_from_db()
    assert citizen.declined_at is not None and citizen.consented_at is None


def test_a_decision_is_audited_by_the_members_pseudonym_with_version_and_language(citizen, agency):
    agree(citizen)
    entry = AuditEntry.objects.get(action="videotermin.consent.accepted")
    assert entry.actor_ref == f"member:{citizen.public_id}"
    assert entry.actor is None
    assert entry.data == {"version": 1, "language": "de"}
    assert entry.appointment_ref == str(citizen.appointment.public_id)
