"""The points counter under a real gunicorn: concurrent redemptions over HTTP.

One gunicorn per module, started with the project's gunicorn.conf.py (4 sync workers,
on a port the kernel picks), serves a copy of the migrated database prepared here.
Each test has its own members and its own catalogue item, so the tests do not see
each other's redemptions. Requests come from threads that a barrier releases
together, from several separate clerk logins at once — several counters on one
database (SQLite, or PostgreSQL in the CI's second run). What the database holds
afterwards is read from outside the server, and `flask points verify` must agree.
"""

import http.client
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from baojing.extensions import db
from baojing.models.points import GOODS, CatalogItem
from baojing.services.points import verify
from tests import factories
from tests.conftest import database_copy, make_app, run_sql
from tests.points_factories import build_store, fund
from tests.servers import RECEIPT, REPO, ClerkSession, gunicorn, login, server_env, venv_bin

WORKERS = 4
COUNTERS = 4  # separate clerk logins, each with its own cookie and CSRF token


def rid() -> str:
    return uuid.uuid4().hex


# --- the data --------------------------------------------------------------------------


def _goods(name: str, price: int, stock: int) -> int:
    item = CatalogItem(kind=GOODS, name=name, price=price, stock=stock)
    db.session.add(item)
    db.session.flush()
    return item.id


def prepare(db_path: Path) -> dict:
    """The org, the store and, per test, its members, points and item; returns their ids."""
    app = make_app(db_path)
    with app.app_context():
        org = factories.build_org()
        store = build_store()
        # Double spend: points for exactly one rice (50), stock plenty.
        store.rice.stock = 10
        fund(org.members["tati"].id, 50)
        # Replay: points for many, stock plenty.
        fund(org.members["angdong"].id, 500)
        # The last item: one towel, two members with points enough at two counters …
        second = factories.member(org.villages["xinmin"], name="石秀英")
        fund(org.members["xinmin"].id, 100)
        fund(second.id, 100)
        # … and one umbrella, one member at two counters with points enough for two.
        both = factories.member(org.villages["angdong"], name="彭春花")
        fund(both.id, 200)
        ids = {
            "double_member": org.members["tati"].id,
            "double_item": store.rice.id,
            "replay_member": org.members["angdong"].id,
            "replay_item": _goods("食用油 5 升", price=50, stock=10),
            "last_two_members": ((org.members["xinmin"].id, second.id), 100),
            "last_two_members_item": _goods("毛巾", price=50, stock=1),
            "last_one_member": ((both.id, both.id), 200),
            "last_one_member_item": _goods("雨伞", price=50, stock=1),
        }
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return ids


# --- the server ------------------------------------------------------------------------


@dataclass
class Served:
    port: int
    db_path: Path
    env: dict
    log: Path
    ids: dict

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def scalar(self, sql: str, *params):
        """One value from the served database, read outside the server."""
        return run_sql(self.db_path, sql, *params)[0][0]

    def verify_cli(self) -> subprocess.CompletedProcess:
        """`flask points verify` on the served database, as an operator would run it."""
        return subprocess.run(
            [venv_bin("flask"), "points", "verify"],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    def problems(self) -> list[str]:
        """The same checks in this process (no second interpreter to start)."""
        app = make_app(self.db_path)
        with app.app_context():
            try:
                return verify.problems()
            finally:
                db.session.remove()
                db.engine.dispose()


@pytest.fixture(scope="module")
def served(migrated_db, tmp_path_factory):
    """gunicorn on a prepared copy of the migrated database; always stopped at the end."""
    tmp = tmp_path_factory.mktemp("gunicorn")
    copies = database_copy(migrated_db, tmp)
    db_path = next(copies)
    ids = prepare(db_path)
    env = server_env(db_path)
    log = tmp / "gunicorn.log"
    try:
        with gunicorn(env, log, WORKERS) as port:
            yield Served(port=port, db_path=db_path, env=env, log=log, ids=ids)
    finally:
        copies.close()


# --- HTTP ------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: str

    @property
    def serial(self) -> str | None:
        m = RECEIPT.search(self.body)
        return m.group(1) if m else None


def fire(port: int, jobs: list[tuple[ClerkSession, dict]]) -> list[Answer]:
    """POST /store/redeem for every (counter, form) at once: connected first, then a barrier."""
    barrier = threading.Barrier(len(jobs))
    answers: list[Answer | BaseException | None] = [None] * len(jobs)

    def run(i: int, clerk: ClerkSession, fields: dict) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.connect()
            body = urllib.parse.urlencode(fields | {"csrf_token": clerk.csrf})
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": clerk.cookie,
                "HX-Request": "true",
            }
            barrier.wait(timeout=30)
            conn.request("POST", "/store/redeem", body=body, headers=headers)
            resp = conn.getresponse()
            answers[i] = Answer(resp.status, resp.read().decode())
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            answers[i] = exc
            barrier.abort()
        finally:
            conn.close()

    threads = [
        threading.Thread(target=run, args=(i, c, f), name=f"redeem-{i}")
        for i, (c, f) in enumerate(jobs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not any(t.is_alive() for t in threads), "a request never came back"
    failed = [a for a in answers if not isinstance(a, Answer)]
    assert not failed, f"requests failed: {failed!r}"
    return answers


def redeem_form(member_id: int, item_id: int, quantity: int = 1, request_id=None) -> dict:
    return {"member_id": member_id, "item_id": item_id, "quantity": quantity,
            "request_id": request_id or rid()}  # fmt: skip


def assert_healthy(served: Served, answers: list[Answer]) -> None:
    """No 5xx, and nothing in the bodies or the server log about a locked database."""
    log = served.log_text()
    assert not [a.status for a in answers if a.status >= 500], log[-3000:]
    assert not [a for a in answers if "database is locked" in a.body]
    assert "database is locked" not in log
    assert "Traceback" not in log, log[-3000:]
    assert "could not record session activity" not in log


def assert_verifies(served: Served, cli: bool = False) -> None:
    """The ledger verifies: by `flask points verify`'s exit code, or by its checks here."""
    if cli:
        result = served.verify_cli()
        assert result.returncode == 0, result.stdout + result.stderr
        assert "积分账本一致" in result.stdout
    assert served.problems() == []


BALANCE = "SELECT balance FROM point_accounts WHERE member_id = ?"
STOCK = "SELECT stock FROM catalog_items WHERE id = ?"
REDEMPTIONS = "SELECT count(*) FROM redemptions WHERE item_id = ?"
REDEEM_ENTRIES = "SELECT count(*) FROM point_entries WHERE member_id = ? AND kind = 'redeem'"


# --- the tests -------------------------------------------------------------------------


def test_double_spend_across_workers_redeems_exactly_once(served):
    """Points for exactly one unit, 24 redemptions at once from 4 counters: one wins."""
    member, item = served.ids["double_member"], served.ids["double_item"]
    assert served.scalar(BALANCE, member) == 50 and served.scalar(STOCK, item) == 10
    counters = [login(served.port) for _ in range(COUNTERS)]
    jobs = [(counters[i % COUNTERS], redeem_form(member, item)) for i in range(24)]
    started = time.perf_counter()
    answers = fire(served.port, jobs)
    elapsed = time.perf_counter() - started
    statuses = Counter(a.status for a in answers)
    print(
        f"\ndouble spend: {len(answers)} concurrent redemptions from {COUNTERS} counters "
        f"on {WORKERS} workers in {elapsed:.2f} s: {statuses[200]} succeeded, "
        f"{statuses[422]} refused (422), other {sorted(set(statuses) - {200, 422})}"
    )
    assert_healthy(served, answers)
    assert statuses == {200: 1, 422: len(answers) - 1}, statuses
    winner = next(a for a in answers if a.status == 200)
    assert winner.serial and 'id="balance">0<' in winner.body
    assert all("积分不足" in a.body for a in answers if a.status == 422)

    assert served.scalar(BALANCE, member) == 0
    assert served.scalar(REDEMPTIONS, item) == 1
    assert served.scalar("SELECT serial FROM redemptions WHERE item_id = ?", item) == winner.serial
    assert served.scalar(REDEEM_ENTRIES, member) == 1
    assert served.scalar(STOCK, item) == 9
    assert_verifies(served, cli=True)


def test_concurrent_replays_of_one_request_id_redeem_once(served):
    """One form submitted 20 times at once (double taps, retries): one redemption."""
    member, item = served.ids["replay_member"], served.ids["replay_item"]
    counters = [login(served.port) for _ in range(COUNTERS)]
    key = rid()
    jobs = [(counters[i % COUNTERS], redeem_form(member, item, request_id=key)) for i in range(20)]
    answers = fire(served.port, jobs)
    statuses = Counter(a.status for a in answers)
    serials = Counter(a.serial for a in answers)
    print(f"\nreplay: {len(answers)} concurrent submits of one request_id: "
          f"statuses {dict(statuses)}, receipts {dict(serials)}")  # fmt: skip
    assert_healthy(served, answers)
    assert statuses == {200: 20}, statuses
    assert len(serials) == 1 and None not in serials, serials  # the one receipt, every time

    assert served.scalar(REDEMPTIONS, item) == 1
    assert served.scalar(REDEEM_ENTRIES, member) == 1
    assert served.scalar(BALANCE, member) == 450
    assert served.scalar(STOCK, item) == 9

    # The same key with other content is a conflict, and changes nothing.
    (other,) = fire(served.port, [(counters[0], redeem_form(member, item, 2, request_id=key))])
    print(f"replay: same request_id, quantity 2 → {other.status}")
    assert_healthy(served, [other])
    assert other.status == 409
    assert served.scalar(REDEMPTIONS, item) == 1
    assert served.scalar(BALANCE, member) == 450
    assert served.scalar(STOCK, item) == 9
    assert_verifies(served)


@pytest.mark.parametrize("case", ["last_two_members", "last_one_member"])
def test_two_counters_race_for_the_last_item(served, case):
    """Stock 1, points enough for more, two counters at once: one redeems, one hears 库存不足.

    Two members at two counters, and one member at two counters (both tapped at once).
    """
    (first, second), funded = served.ids[case]
    item = served.ids[f"{case}_item"]
    a, b = login(served.port), login(served.port)
    answers = fire(served.port, [(a, redeem_form(first, item)), (b, redeem_form(second, item))])
    statuses = sorted(x.status for x in answers)
    print(f"\n{case}: stock 1, two counters at once → {statuses}")
    assert_healthy(served, answers)
    assert statuses == [200, 422]
    loser = next(x for x in answers if x.status == 422)
    assert "库存不足" in loser.body
    winner_member, loser_member = (first, second) if answers[0].status == 200 else (second, first)

    assert served.scalar(STOCK, item) == 0
    assert served.scalar(REDEMPTIONS, item) == 1
    assert served.scalar("SELECT member_id FROM redemptions WHERE item_id = ?", item) == (
        winner_member
    )
    assert served.scalar(REDEEM_ENTRIES, winner_member) == 1
    assert served.scalar(BALANCE, winner_member) == funded - 50
    if loser_member != winner_member:
        assert served.scalar(BALANCE, loser_member) == funded
        assert served.scalar(REDEEM_ENTRIES, loser_member) == 0
    assert_verifies(served)
