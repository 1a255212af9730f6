"""Turn DATABASE_URL into Django's DATABASES entry (SQLite file or PostgreSQL)."""

from pathlib import Path
from urllib.parse import unquote, urlsplit


def database_from_url(url: str, base_dir: Path, pool_size: int = 20) -> dict:
    """Return a Django database configuration for a sqlite:/// or postgres:// address; with
    PostgreSQL, each process keeps a pool of at most `pool_size` connections."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///var/db.sqlite3 is relative to the project, sqlite:////srv/db.sqlite3 absolute.
        path = unquote(parts.netloc + parts.path)
        relative = path[1:] if path.startswith("/") and not path.startswith("//") else None
        name = base_dir / relative if relative is not None else Path("/" + path.lstrip("/"))
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": name,
            "OPTIONS": {
                # WAL lets the waiting room read while a call writes; IMMEDIATE avoids
                # "database is locked" when two requests upgrade a read to a write at once.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Each thread keeps its connection: opening one (PRAGMAs, functions) and closing the
            # last one of a WAL database (a checkpoint) cost more than the queries of a socket.
            "CONN_MAX_AGE": None,
            "CONN_HEALTH_CHECKS": True,
            # Beside the database it tests, so that runs on other databases never share a file.
            "TEST": {"NAME": str(name.parent / f"test_{name.name}")},
        }
    if parts.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            # A pool of open connections per process (psycopg_pool): a socket's database work
            # never waits for a new PostgreSQL backend to be forked.
            "CONN_MAX_AGE": 0,
            "OPTIONS": {"pool": {"min_size": 2, "max_size": pool_size, "timeout": 10}},
        }
    raise ValueError(f"DATABASE_URL: unsupported scheme {parts.scheme!r} (use sqlite or postgres)")
