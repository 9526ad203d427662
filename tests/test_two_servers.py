"""Two app servers on one database, as a prefecture would run them behind nginx.

Two separate gunicorn instances (two masters, not two workers of one) serve the same
database: PostgreSQL in the CI's second run, the SQLite file otherwise. What one server
decides about an account or a session, the other honours; two counters racing for the
last item through different servers sell it once.
"""

import http.client
import threading
import urllib.parse
from contextlib import ExitStack

import pytest

from tests import servers
from tests import test_points_gunicorn as g
from tests.conftest import PASSWORD, database_copy, run_sql


@pytest.fixture(scope="module")
def two(migrated_db, tmp_path_factory):
    """(port of A, port of B, the database, the prepared ids); both stopped at the end."""
    tmp = tmp_path_factory.mktemp("two")
    copies = database_copy(migrated_db, tmp)
    database = next(copies)
    ids = g.prepare(database)
    env = servers.server_env(database)
    with ExitStack() as stack:
        ports = [
            stack.enter_context(servers.gunicorn(env, tmp / f"{name}.log", workers=1))
            for name in ("a", "b")
        ]
        yield ports[0], ports[1], database, ids
    copies.close()


def _post_login(port: int, username: str, password: str) -> int:
    """One login attempt through the form, from a fresh browser; the status it got."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/login")
        resp = conn.getresponse()
        page = resp.read().decode()
        cookie = resp.getheader("Set-Cookie", "").split(";")[0]
        token = servers.csrf_of(page)
        body = urllib.parse.urlencode(
            {"username": username, "password": password, "csrf_token": token}
        )
        conn.request("POST", "/login", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
        })  # fmt: skip
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def _get(port: int, path: str, cookie: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_a_lockout_on_one_server_holds_on_the_other(two):
    a, b, _database, _ids = two
    # Ten wrong passwords, alternating between the servers, lock the account …
    statuses = [_post_login(a if n % 2 else b, "secretary2", "wrong password!!") for n in range(10)]
    assert statuses[-1] == 429
    # … and the right one is refused on both while the lock lasts.
    assert _post_login(a, "secretary2", PASSWORD) == 429
    assert _post_login(b, "secretary2", PASSWORD) == 429


def test_a_session_ended_on_one_server_is_ended_on_the_other(two):
    a, b, _database, _ids = two
    clerk = servers.login(a, "secretary")
    assert _get(b, "/members/", clerk.cookie) == 200  # the login from A opens B
    conn = http.client.HTTPConnection("127.0.0.1", b, timeout=30)
    try:
        body = urllib.parse.urlencode({"csrf_token": clerk.csrf})
        conn.request("POST", "/logout", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": clerk.cookie,
        })  # fmt: skip
        conn.getresponse().read()
    finally:
        conn.close()
    # The copied cookie opens nothing on A any more.
    assert _get(a, "/members/", clerk.cookie) == 302


def test_two_counters_on_two_servers_sell_the_last_item_once(two):
    a, b, database, ids = two
    (first, second), funded = ids["last_two_members"]
    item = ids["last_two_members_item"]
    counters = [(a, servers.login(a), first), (b, servers.login(b), second)]
    barrier = threading.Barrier(2)
    answers = [None, None]

    def run(i, port, clerk, member):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.connect()
            body = urllib.parse.urlencode(g.redeem_form(member, item) | {"csrf_token": clerk.csrf})
            barrier.wait(timeout=30)
            conn.request("POST", "/store/redeem", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": clerk.cookie,
                "HX-Request": "true",
            })  # fmt: skip
            resp = conn.getresponse()
            answers[i] = (resp.status, resp.read().decode())
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(i, *c)) for i, c in enumerate(counters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    statuses = sorted(status for status, _body in answers)
    assert statuses == [200, 422], answers
    assert run_sql(database, g.STOCK, item)[0][0] == 0
    assert run_sql(database, g.REDEMPTIONS, item)[0][0] == 1
    balances = sorted(run_sql(database, g.BALANCE, m)[0][0] for m in (first, second))
    assert balances == [funded - 50, funded]
