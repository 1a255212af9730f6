"""Security headers on every page, and production settings that refuse unsafe values."""

import os
import subprocess
import sys


def test_every_page_sends_a_strict_content_security_policy(client, db):
    response = client.get("/staff/login/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy


def test_only_the_site_itself_may_use_camera_microphone_and_screen(client, db):
    policy = client.get("/staff/login/").headers["Permissions-Policy"]
    assert "camera=(self)" in policy
    assert "microphone=(self)" in policy
    assert "display-capture=(self)" in policy


def test_the_personal_link_is_never_sent_as_referrer(client, booking):
    response = client.get(f"/j/{booking.token}/")
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_other_sites_never_get_a_referrer(client, db):
    # "same-origin" elsewhere: "no-referrer" makes browsers send "Origin: null" on form posts,
    # which the CSRF check must refuse.
    assert client.get("/staff/login/").headers["Referrer-Policy"] == "same-origin"


def check_settings(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL"}}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**environment, "DJANGO_SETTINGS_MODULE": "videotermin.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


SAFE = {
    "VIDEOTERMIN_ENV": "production",
    "SECRET_KEY": "k" * 50,
    "SITE_URL": "https://video.agentur.example",
}


def test_production_starts_with_safe_settings():
    assert check_settings(**SAFE).returncode == 0


def test_production_refuses_to_start_with_debug_on():
    result = check_settings(**SAFE, VIDEOTERMIN_DEBUG="1")
    assert result.returncode != 0 and "DEBUG" in result.stderr


def test_production_refuses_to_start_without_a_secret():
    result = check_settings(VIDEOTERMIN_ENV="production", SITE_URL="https://x.example")
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_production_refuses_a_default_secret():
    result = check_settings(**{**SAFE, "SECRET_KEY": "django-insecure-" + "x" * 40})
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr
