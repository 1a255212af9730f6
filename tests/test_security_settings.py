"""Production settings: the server refuses to start with anything unsafe, and what it starts
with passes Django's own deployment checks."""

import os
import secrets
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(code: str, **env) -> subprocess.CompletedProcess:
    """Python with the settings of this environment (and no secret or database of the tests)."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "VIDEOTERMIN_ENV"}
    }
    environment.update(env, DJANGO_SETTINGS_MODULE="videotermin.settings")
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def starts(**env) -> subprocess.CompletedProcess:
    return run("import django; django.setup()", **env)


SAFE = {
    "VIDEOTERMIN_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "SITE_URL": "https://video.agentur.example",
    "ALLOWED_HOSTS": "video.agentur.example",
}


def test_production_starts_with_safe_settings():
    result = starts(**SAFE)
    assert result.returncode == 0, result.stderr


def test_what_production_starts_with_passes_djangos_deployment_checks():
    code = (
        "import django, sys; django.setup(); from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')"
    )
    result = run(code, **SAFE)
    assert result.returncode == 0, result.stderr
    assert "WARNINGS" not in result.stderr


def test_production_refuses_to_start_with_debug_on():
    result = starts(**SAFE, VIDEOTERMIN_DEBUG="1")
    assert result.returncode != 0 and "DEBUG" in result.stderr


def test_production_refuses_to_start_without_a_secret():
    result = starts(**{k: v for k, v in SAFE.items() if k != "SECRET_KEY"})
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "key",
    [
        "a" * 40,
        "a" * 80,
        "changeme" * 8,
        "django-insecure-" + secrets.token_urlsafe(50),
        "0123456789" * 6,
        secrets.token_urlsafe(20),
    ],
    ids=["short", "one-character", "a-word-repeated", "django-default", "digits", "too-short"],
)
def test_production_refuses_a_weak_or_default_secret(key):
    result = starts(**{**SAFE, "SECRET_KEY": key})
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "key", [secrets.token_hex(32), secrets.token_urlsafe(50)], ids=["hex-64", "urlsafe-50"]
)
def test_keys_from_the_usual_generators_are_accepted(key):
    result = starts(**{**SAFE, "SECRET_KEY": key})
    assert result.returncode == 0, result.stderr


def test_any_host_is_refused():
    result = starts(**{**SAFE, "ALLOWED_HOSTS": "*"})
    assert result.returncode != 0 and "ALLOWED_HOSTS" in result.stderr


@pytest.mark.parametrize("name", ["prod", "Production", "staging", ""])
def test_an_unknown_environment_name_is_refused_rather_than_run_as_the_demo(name):
    result = starts(**{**SAFE, "VIDEOTERMIN_ENV": name})
    assert result.returncode != 0 and "VIDEOTERMIN_ENV" in result.stderr


def test_in_production_every_cookie_is_secure():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.LANGUAGE_COOKIE_SECURE)"
    )
    result = run(code, **SAFE)
    assert result.stdout.split() == ["True", "True", "True"], result.stderr
