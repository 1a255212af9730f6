"""The application as the bench serves it to count the server's database queries.

`bench.queries:application` is `videotermin.asgi.application` unchanged, with two additions that
exist only in this module (nothing in `src/` knows of them):

- every SQL statement the process sends through a Django cursor (`CursorWrapper`, in whatever
  thread or task: the consumers' database work runs in threads of their own) is counted, as the
  test suite's `Queries` helper and Django's `CaptureQueriesContext` count them;
- a GET of QUERIES_PATH answers, without touching the database, `{"count": n, "statements":
  [...]}`: the number counted so far and the statements after `?since=<count>` (the most recent
  few thousand, shortened).

The bench runs it only in a server of its own on 127.0.0.1 (`BenchServer.sibling(app=
COUNTING_APP)`). The bench process itself never imports this module: importing it sets Django
up (videotermin.asgi) before the bench has chosen its database.
"""

import json
import threading
from collections import deque
from urllib.parse import parse_qs

from django.db.backends.utils import CursorWrapper

from bench.server import QUERIES_PATH

_lock = threading.Lock()
_count = 0
_recent: deque[tuple[int, str]] = deque(maxlen=5000)
_execute_with_wrappers = CursorWrapper._execute_with_wrappers


def _counting(self, sql, params, many, executor):
    global _count
    with _lock:
        _count += 1
        _recent.append((_count, " ".join(str(sql).split())[:160]))
    return _execute_with_wrappers(self, sql, params, many, executor)


CursorWrapper._execute_with_wrappers = _counting  # type: ignore[method-assign]

from videotermin.asgi import application as videotermin  # noqa: E402 (counted from the start)


async def application(scope, receive, send) -> None:
    if scope["type"] == "http" and scope["path"] == QUERIES_PATH:
        query = parse_qs(scope.get("query_string", b"").decode())
        since = int(query.get("since", ["0"])[0])
        with _lock:
            body = {"count": _count, "statements": [sql for n, sql in _recent if n > since]}
        payload = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        return
    await videotermin(scope, receive, send)
