"""A counselor checks her own devices from the workspace (S4): the same check and test call,
for signed-in staff only, stored nowhere."""

import pytest
from django.urls import reverse

from videotermin.checks.limits import take_probe

STAFF_ENDPOINTS = ["checks:staff_ping", "checks:staff_download", "checks:staff_upload"]


def test_alice_opens_her_own_device_check_from_the_workspace(client, counselor):
    client.force_login(counselor)
    response = client.get(reverse("staff:check"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="test-call"' in page and 'id="net-rtt"' in page
    assert 'data-result-url=""' in page, "her result is shown, not stored"
    for name in STAFF_ENDPOINTS + ["checks:staff_echo", "checks:staff_echo_stop"]:
        assert reverse(name) in page
    assert reverse("staff:check") in client.get(reverse("staff:day")).content.decode()


def test_somebody_not_signed_in_gets_no_check_and_no_measurements(client, db):
    assert client.get(reverse("staff:check")).status_code == 302
    assert client.get(reverse("checks:staff_ping")).status_code == 403
    assert client.get(reverse("checks:staff_download"), {"bytes": 4096}).status_code == 403
    response = client.post(reverse("checks:staff_echo"), "{}", content_type="application/json")
    assert response.status_code == 403


def test_a_citizen_with_a_link_is_not_staff(client, consenting_citizen, booking):
    client.get(reverse("journey:link", args=[booking.token]))
    assert client.get(reverse("checks:staff_ping")).status_code == 403


def test_alice_measures_her_connection(client, counselor):
    client.force_login(counselor)
    assert client.get(reverse("checks:staff_ping")).status_code == 204
    download = client.get(reverse("checks:staff_download"), {"bytes": 4096})
    assert download.status_code == 200 and len(download.content) == 4096
    upload = client.post(
        reverse("checks:staff_upload"), b"x" * 2048, content_type="application/octet-stream"
    )
    assert upload.json() == {"bytes": 2048}


def test_alices_measurements_count_against_her_own_allowance(client, counselor, settings):
    settings.NETWORK_PROBE_LIMIT = 2
    client.force_login(counselor)
    for _ in range(2):
        assert client.get(reverse("checks:staff_download"), {"bytes": 1024}).status_code == 200
    refused = client.get(reverse("checks:staff_download"), {"bytes": 1024})
    assert refused.status_code == 429
    assert take_probe("some-citizen"), "a citizen's allowance is her own"


@pytest.mark.parametrize("body", ["{not json", '{"type": "answer", "sdp": "v=0"}'])
def test_a_broken_offer_from_alices_check_is_refused_clearly(client, counselor, body):
    client.force_login(counselor)
    response = client.post(reverse("checks:staff_echo"), body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]
