"""Secret link tokens: 192 random bits for the citizen, only a hash for the database."""

import hashlib
import secrets


def new_token() -> tuple[str, str]:
    """Return a fresh (token, hash) pair; the token goes into the link, the hash into storage."""
    token = secrets.token_urlsafe(24)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
