"""Settings for videotermin, read from the environment (docs/operations.md lists every variable).

The embedded defaults run a demo on one machine: SQLite, in-memory channel layer, e-mails written
to a folder. `VIDEOTERMIN_ENV=production` turns on the checks that refuse unsafe settings.
"""

import ipaddress
import secrets
import zlib
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from videotermin.lib.database import database_from_url
from videotermin.lib.env import envbool, envint, envlist, envstr

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = Path(envstr("VIDEOTERMIN_HOME", str(PACKAGE_DIR.parent.parent))).resolve()
VAR_DIR = Path(envstr("VIDEOTERMIN_VAR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

ENVIRONMENT = envstr("VIDEOTERMIN_ENV", "demo")
# A misspelt name ("prod", "Production") must not quietly run the demo's trusting defaults.
if ENVIRONMENT not in ("demo", "production"):
    raise ImproperlyConfigured(
        f"VIDEOTERMIN_ENV must be 'demo' or 'production', not {ENVIRONMENT!r}."
    )
PRODUCTION = ENVIRONMENT == "production"
DEBUG = envbool("VIDEOTERMIN_DEBUG", False)

_DEMO_SECRET_FILE = VAR_DIR / "secret_key"


def _secret_key() -> str:
    key = envstr("SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set in production.")
    # The demo keeps one generated key so that sessions survive a restart.
    if not _DEMO_SECRET_FILE.exists():
        _DEMO_SECRET_FILE.write_text(secrets.token_urlsafe(50))
        _DEMO_SECRET_FILE.chmod(0o600)
    return _DEMO_SECRET_FILE.read_text().strip()


SECRET_KEY = _secret_key()
SITE_URL = envstr("SITE_URL", f"http://127.0.0.1:{envint('PORT', 8000)}").rstrip("/")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", SITE_URL)
# A form without its cookie (blocked, or the session lost) explains itself (errors.py).
CSRF_FAILURE_VIEW = "videotermin.errors.csrf_failure"
# WebSockets accept only SITE_URL's origin (scheme, host, port) and these (lib/origins.py).
# The demo also answers on localhost, as its pages do.
_DEMO_ORIGINS = "" if PRODUCTION else f"http://localhost:{envint('PORT', 8000)}"
WEBSOCKET_ALLOWED_ORIGINS = envlist("VIDEOTERMIN_WEBSOCKET_ORIGINS", _DEMO_ORIGINS)

if "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the site's host names, not '*'.")
# Forwarded headers (X-Forwarded-For, X-Forwarded-Proto) count only from these addresses or
# networks, the reverse proxies in front of the application (lib/proxies.py).
TRUSTED_PROXIES = envlist("TRUSTED_PROXIES")


def weak_secret(key: str) -> bool:
    """Too short, too few different characters, or a pattern that compresses well."""
    return (
        len(key) < 50
        or len(set(key)) < 10
        or len(zlib.compress(key.encode(), 9)) < 32
        or key.startswith("django-insecure")
    )


if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("VIDEOTERMIN_DEBUG must be off in production.")
    if weak_secret(SECRET_KEY):
        raise ImproperlyConfigured(
            "SECRET_KEY is too short, too simple or a default; use 50 random characters "
            "(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    if not SITE_URL.startswith("https://"):
        raise ImproperlyConfigured("SITE_URL must be an https:// address in production.")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    # Before allauth: its templates in the staff look (signin/templates) take precedence.
    "videotermin.signin",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "django_tasks",
    "django_tasks_db",
    "videotermin.agencies",
    "videotermin.appointments",
    "videotermin.consent",
    "videotermin.journey",
    "videotermin.checks",
    "videotermin.calls",
    "videotermin.staff",
    "videotermin.administration",
    "videotermin.survey",
    "videotermin.audit",
    "videotermin.stats",
    "videotermin.privacy",
    "videotermin.webhooks",
    "videotermin.api",
    "videotermin.booking",
    "videotermin.monitoring",
    "videotermin.resources",
    # Only for the API documentation page's own copies of Swagger UI (templates, static files).
    "ninja",
]

MIDDLEWARE = [
    # Outermost: also a refusal by SecurityMiddleware itself (a bad Host header on the https
    # redirect) gets the headers.
    "videotermin.lib.headers.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "videotermin.lib.i18n.StaffLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # An agency that requires a second factor: whoever has none sets one up first (signin/).
    "videotermin.signin.middleware.SecondFactorPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "videotermin.urls"
ASGI_APPLICATION = "videotermin.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        envstr("DATABASE_URL", "sqlite:///var/videotermin.sqlite3"),
        BASE_DIR,
        pool_size=envint("DATABASE_POOL_SIZE", 20),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Several processes or hosts share signaling through Redis; one process needs nothing.
REDIS_URL = envstr("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # One PUBLISH per message between processes; within one, as the embedded layer.
            "BACKEND": "videotermin.lib.redislayer.RedisChannelLayer",
            "CONFIG": {"url": REDIS_URL, "capacity": 1_000},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "videotermin.lib.channellayer.LocalChannelLayer",
            # Messages waiting per connection: six people's ICE candidates arrive at once while
            # a page's socket may be busy (Channels' default of 100 dropped some).
            "CONFIG": {"capacity": 1_000},
        }
    }
# The cache holds only short-lived counters (the network check's limit); with Redis every node
# counts together.
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "staff:login"
LOGIN_REDIRECT_URL = "staff:day"
LOGOUT_REDIRECT_URL = "staff:login"

# Sign-in throttling for 15 minutes.
AXES_FAILURE_LIMIT = envint("VIDEOTERMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25
# Five failures lock the account wherever they come from (rotating addresses does not help);
# the address is the one lib/proxies.py set, never a header the client chose.
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_CLIENT_IP_CALLABLE = "videotermin.lib.proxies.client_address"
# Failed sign-ins per address, over all accounts (password spraying); higher than the account's
# limit, since a whole office may sign in from one address.
LOGIN_ADDRESS_LIMIT = envstr("VIDEOTERMIN_LOGIN_ADDRESS_LIMIT", "30/15 minutes")
# axes.W006 asks for the address among the lockout parameters: it is counted, by the limit
# above, at a height that does not lock a whole office out after five typos.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_LOCKOUT_TEMPLATE = "staff/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no user agents or addresses in the logs

# Staff sign-in through django-allauth (signin/): user name and password, then a second factor
# (authenticator app, security key, recovery codes) where one is set up; or single sign-on
# through the agency's own OpenID Connect providers, rows in the database (SocialApp).
ACCOUNT_ADAPTER = "videotermin.signin.adapter.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "videotermin.signin.adapter.SocialAccountAdapter"
MFA_ADAPTER = "videotermin.signin.adapter.MFAAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_FORMS = {"login": "videotermin.signin.forms.LoginForm"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
# Administrators create the accounts; nobody signs up, no e-mail is verified or sent.
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_EMAIL_NOTIFICATIONS = False
# The session lasts SESSION_COOKIE_AGE, as before; no "remember me" to tick.
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_LOGOUT_REDIRECT_URL = "staff:login"
# Failed passwords are counted by django-axes (per account) and LOGIN_ADDRESS_LIMIT (per
# address). allauth's "login_failed" also counts wrong second-factor codes per account: one
# more than axes allows, so that axes answers a password guesser first. Successful sign-ins
# of a whole office behind one address are not limited.
ACCOUNT_RATE_LIMITS = {
    "login_failed": f"{AXES_FAILURE_LIMIT + 1}/900s/key",
    "login": False,
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = "videotermin"
# Security keys on plain http (the demo on 127.0.0.1, the tests); production is https only.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION
# A provider's users are matched to the agency's staff accounts by signin/adapter.py only,
# never by allauth's global e-mail lookup; no signup form, no provider's e-mail is trusted
# beyond the agency that configured it.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"OAUTH_PKCE_ENABLED": True}}
# Providers' pages live at /staff/sso/<provider id>/login/ (signin/urls.py).
SOCIALACCOUNT_OPENID_CONNECT_URL_PREFIX = ""

LANGUAGE_CODE = "de"
# N7: every page, e-mail and calendar file a citizen or invited participant meets speaks these.
# Staff pages speak German and English only (STAFF_LANGUAGES).
LANGUAGES = [
    ("de", _("German")),
    ("en", _("English")),
    ("tr", _("Turkish")),
    ("ar", _("Arabic")),
    ("uk", _("Ukrainian")),
    ("ru", _("Russian")),
    ("pl", _("Polish")),
    ("ro", _("Romanian")),
    ("fa", _("Persian")),
    ("fr", _("French")),
    ("es", _("Spanish")),
    ("it", _("Italian")),
]
STAFF_LANGUAGES = ("de", "en")
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "videotermin_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = envstr("TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The project package is not an app itself, so its static folder is named here.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Pre-compressed (gzip and Brotli) copies: the citizen's phone downloads the least.
        "BACKEND": "servestatic.storage.CompressedStaticFilesStorage",
    },
}
# Served by the application itself, natively under ASGI. The demo and production serve the
# collected, pre-compressed copies; the tests (and a tree without collectstatic) the sources.
SERVESTATIC_USE_FINDERS = envbool("VIDEOTERMIN_STATIC_FROM_SOURCE", not STATIC_ROOT.exists())
SERVESTATIC_AUTOREFRESH = DEBUG
SERVESTATIC_MAX_AGE = 3600

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = SITE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 12 * 3600
# Database sessions, read without building the query anew each time (lib/sessions.py).
SESSION_ENGINE = "videotermin.lib.sessions"
# "same-origin", not "no-referrer": with no-referrer Chromium sends "Origin: null" on form posts
# and Django's CSRF check refuses every form. Other sites still get no referrer.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_HSTS_SECONDS = envint("VIDEOTERMIN_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("VIDEOTERMIN_HSTS_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("VIDEOTERMIN_HSTS_PRELOAD", True)
    # Plain http is answered with a redirect to https (the proxy may do it first).
    SECURE_SSL_REDIRECT = envbool("VIDEOTERMIN_SSL_REDIRECT", True)
    # Believed only from TRUSTED_PROXIES: lib/proxies.py removes it from everybody else.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# E-mail: a folder in the demo, SMTP when EMAIL_HOST is set.
EMAIL_HOST = envstr("EMAIL_HOST")
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "videotermin@localhost")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = envint("EMAIL_PORT", 25)
    EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = 20
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = envstr("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))

# Background work (deletion, reminders): jobs are rows in the database, run by
# `manage.py db_worker` (lib/jobs.py); SQLite and PostgreSQL alike, no broker.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Webhooks to the agencies' systems (webhooks/, docs/webhooks.md). Endpoints must be https to a
# public address, except hosts listed here (names, ".domain" suffixes, addresses or networks),
# which may use http and private, loopback or link-local addresses.
WEBHOOK_ALLOWED_HOSTS = envlist("VIDEOTERMIN_WEBHOOK_ALLOWED_HOSTS")
# Seconds for one request; first retry after WEBHOOK_RETRY_SECONDS, doubling up to the maximum,
# given up after WEBHOOK_MAX_ATTEMPTS attempts (about 8.5 hours with the defaults).
WEBHOOK_TIMEOUT_SECONDS = envint("VIDEOTERMIN_WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_RETRY_SECONDS = envint("VIDEOTERMIN_WEBHOOK_RETRY_SECONDS", 15)
WEBHOOK_RETRY_MAX_SECONDS = envint("VIDEOTERMIN_WEBHOOK_RETRY_MAX_SECONDS", 4 * 3600)
WEBHOOK_MAX_ATTEMPTS = envint("VIDEOTERMIN_WEBHOOK_MAX_ATTEMPTS", 12)
# A delivery being sent is held this long; a worker killed meanwhile loses it then. The sweep
# that takes up lost and due deliveries runs this often.
WEBHOOK_LEASE_SECONDS = envint("VIDEOTERMIN_WEBHOOK_LEASE_SECONDS", 60)
WEBHOOK_SWEEP_SECONDS = envint("VIDEOTERMIN_WEBHOOK_SWEEP_SECONDS", 60)
# Events and their delivery log are deleted after this many days.
WEBHOOK_KEEP_DAYS = envint("VIDEOTERMIN_WEBHOOK_KEEP_DAYS", 14)
if WEBHOOK_LEASE_SECONDS <= WEBHOOK_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        "VIDEOTERMIN_WEBHOOK_LEASE_SECONDS must be longer than VIDEOTERMIN_WEBHOOK_TIMEOUT_SECONDS."
    )

# How far ahead appointments can be booked (days).
BOOKING_HORIZON_DAYS = envint("VIDEOTERMIN_BOOKING_HORIZON_DAYS", 730)
# Self-service booking (booking/): how long a slot chosen on a public booking page is held
# until its e-mail is confirmed; how long a booking link works by default, and how long an
# expired one is still recognised as expired (then deleted); how often the public page may
# send e-mail, per client address, per e-mail address and for everybody together.
BOOKING_HOLD_MINUTES = envint("VIDEOTERMIN_BOOKING_HOLD_MINUTES", 15)
BOOKING_INVITATION_DAYS = envint("VIDEOTERMIN_BOOKING_LINK_DAYS", 14)
BOOKING_INVITATION_KEEP_DAYS = envint("VIDEOTERMIN_BOOKING_LINK_KEEP_DAYS", 14)
BOOKING_REQUEST_LIMIT = envstr("VIDEOTERMIN_BOOKING_REQUEST_LIMIT", "10/hour")
BOOKING_EMAIL_LIMIT = envstr("VIDEOTERMIN_BOOKING_EMAIL_LIMIT", "3/day")
BOOKING_GLOBAL_LIMIT = envstr("VIDEOTERMIN_BOOKING_GLOBAL_LIMIT", "300/hour")

# Signaling limits: messages larger than this are refused without being parsed.
SIGNALING_MAX_MESSAGE_BYTES = envint("VIDEOTERMIN_SIGNALING_MAX_BYTES", 64 * 1024)

# Documents go browser to browser over a data channel (never through the server); the pages
# refuse larger files before sending and on receipt.
MAX_DOCUMENT_MB = envint("VIDEOTERMIN_MAX_DOCUMENT_MB", 25)

# TURN (coturn with use-auth-secret): every room member gets credentials of its own that expire
# after TURN_TTL_SECONDS (calls/ice.py). Without TURN_URLS browsers connect directly only.
TURN_URLS = envlist("TURN_URLS")
TURN_SECRET = envstr("TURN_SECRET")
TURN_TTL_SECONDS = envint("TURN_TTL_SECONDS", 3600)
STUN_URLS = envlist("STUN_URLS")
if TURN_URLS and not TURN_SECRET:
    raise ImproperlyConfigured("TURN_URLS needs TURN_SECRET (or TURN_SECRET_FILE), as in coturn.")
if TURN_TTL_SECONDS < 60:
    raise ImproperlyConfigured("TURN_TTL_SECONDS must be at least 60.")

# The test call of the device check (J7): media goes to the server and back. "aiortc" runs in
# this process; "janus" uses the echotest plugin of the Janus at JANUS_URL (docs/operations.md).
ECHO_BACKEND = envstr("VIDEOTERMIN_ECHO_BACKEND", "aiortc")
if ECHO_BACKEND not in ("aiortc", "janus"):
    raise ImproperlyConfigured("VIDEOTERMIN_ECHO_BACKEND must be 'aiortc' or 'janus'.")
JANUS_URL = envstr("VIDEOTERMIN_JANUS_URL", "http://127.0.0.1:8088/janus")
JANUS_API_SECRET = envstr("VIDEOTERMIN_JANUS_API_SECRET", "")
# An aiortc echo decodes and re-encodes (about 15 % of a core each): few at once, and not for
# long. Janus only forwards packets; raise the limit when it does the echo.
TEST_CALL_LIMIT = envint("VIDEOTERMIN_TEST_CALL_LIMIT", 4)
TEST_CALL_SECONDS = envint("VIDEOTERMIN_TEST_CALL_SECONDS", 60)
# The network check's download and upload payloads (up to 1 MB each) a participant may ask for
# within ten minutes; one check uses at most four.
NETWORK_PROBE_LIMIT = envint("VIDEOTERMIN_NETWORK_PROBE_LIMIT", 20)
# Personal links looked up (limits strings, journey/limits.py): per client address, and by
# everybody together, so that guessing spread over many addresses is held off too.
LINK_LOOKUP_LIMIT = envstr("VIDEOTERMIN_LINK_LOOKUP_LIMIT", "30/minute")
LINK_LOOKUP_GLOBAL_LIMIT = envstr("VIDEOTERMIN_LINK_LOOKUP_GLOBAL_LIMIT", "1000/minute")

# The integration API (/api/v1/, docs/api.md): calls per key (a limits string), the largest
# JSON body read, how long the previous secret of a rotated key keeps working, and how long an
# answer under an Idempotency-Key is kept for retries.
API_RATE_LIMIT = envstr("VIDEOTERMIN_API_RATE_LIMIT", "300/minute")
API_MAX_BODY_BYTES = envint("VIDEOTERMIN_API_MAX_BODY_BYTES", 32 * 1024)
API_KEY_OVERLAP_HOURS = envint("VIDEOTERMIN_API_KEY_OVERLAP_HOURS", 24)
API_IDEMPOTENCY_HOURS = envint("VIDEOTERMIN_API_IDEMPOTENCY_HOURS", 24)

# Monitoring (monitoring/, docs/operations.md): /healthz, /readyz and /metrics. Each readiness
# check gets this long; a scrape waits this long for the database's numbers.
READYZ_TIMEOUT_SECONDS = envint("VIDEOTERMIN_READYZ_TIMEOUT_MS", 1000) / 1000
METRICS_DATABASE_TIMEOUT_SECONDS = envint("VIDEOTERMIN_METRICS_DATABASE_TIMEOUT_MS", 3000) / 1000
# /metrics needs the bearer token, or a client address in these networks, or both when both are
# set; with neither it is off. The demo answers its own machine.
METRICS_TOKEN = envstr("METRICS_TOKEN")
METRICS_ALLOWED = envlist("METRICS_ALLOWED", "" if PRODUCTION else "127.0.0.1,::1")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("METRICS_TOKEN must have at least 32 characters.")
for _network in METRICS_ALLOWED:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED: {_network!r} is not an address or network."
        ) from None
# Logs: readable lines (the default), or one JSON object a line for a log collector
# (structlog, monitoring/logs.py).
LOG_FORMAT = envstr("LOG_FORMAT", "console")
if LOG_FORMAT not in ("console", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'console' or 'json'.")

# With JSON, uvicorn's own lines (its errors, a worker's start and stop) are JSON too.
_JSON_LOGGERS = (
    {"uvicorn": {"handlers": ["console"], "propagate": False}} if LOG_FORMAT == "json" else {}
)

# Every record is made with link tokens and participant ids shortened (lib/logging.py).
LOGGING_CONFIG = "videotermin.lib.logging.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "videotermin.monitoring.logs.JsonFormatter"},
    },
    "filters": {"refusals": {"()": "videotermin.lib.logging.RefusalsWithoutTraceback"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        # A client's bad Host header or unreadable body: one line, no traceback of Django's code.
        "django.request": {"filters": ["refusals"]},
        "django.security.DisallowedHost": {"filters": ["refusals"]},
        "django.security.RequestDataTooBig": {"filters": ["refusals"]},
        "django.security.TooManyFieldsSent": {"filters": ["refusals"]},
        "django.security.TooManyFilesSent": {"filters": ["refusals"]},
        "django.channels.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # The test call's ICE logs name the citizen's addresses: personal data, not for logs.
        "aioice": {"level": "WARNING"},
        "aiortc": {"level": "WARNING"},
        # httpx logs every request's URL, and Janus's long poll carries the API secret in it.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        **_JSON_LOGGERS,
    },
}
