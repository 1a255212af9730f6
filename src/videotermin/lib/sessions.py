"""Django's database sessions, read with a statement written once (lib/rows.py): every page
and every socket reads its session, and the ORM's building of that query cost more than
running it. Stored, changed and ended as Django does."""

import functools

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from videotermin.lib.rows import Statement, Table, db_value


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        found = _current().rows(
            [self.session_key, db_value(Session, "expire_date", timezone.now())]
        )
        if not found:
            self._session_key = None
            return None
        return found[0][0]


@functools.cache
def _current() -> Statement:
    """The session with this key that has not expired."""

    def write(q) -> str:
        return (
            f"SELECT {q.s.all} FROM {q.s.table}"  # noqa: S608 (names from the models)
            f" WHERE {q.s.c('session_key')} = %s AND {q.s.c('expire_date')} > %s"
        )

    return Statement([Table(Session, "s")], write)
