"""Signing secrets in the Standard Webhooks format, kept encrypted, and the signed headers.

A secret is `whsec_` and 32 random bytes in base64, generated here and shown to the
administrator once. The database keeps it encrypted (Fernet) with a key derived from
SECRET_KEY, and SECRET_KEY_FALLBACKS still open it after the key was changed: a copy of the
database alone does not let anybody sign in the agency's name.
"""

import base64
import secrets
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac
from standardwebhooks import Webhook

PREFIX = "whsec_"
_SALT = "videotermin.webhooks.signing"


class SecretUnreadable(Exception):
    """The stored secret was sealed with a key that is no longer configured."""


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    salted_hmac(_SALT, "fernet", secret=key, algorithm="sha256").digest()
                )
            )
            for key in keys
        ]
    )


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable from error


def headers(
    secrets_in_use: list[str], message_id: str, moment: datetime, body: bytes
) -> dict[str, str]:
    """The Standard Webhooks headers; during a rotation one signature per secret, so that the
    receiver's verifier accepts the message with either."""
    signatures = " ".join(
        Webhook(secret).sign(message_id, moment, body) for secret in secrets_in_use
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signatures,
    }
