"""SECURITY.md's fault drills, short enough to run with every build.

- SIGKILL during a stream of redemptions (the suite's version of bench/store_fault.py):
  a worker, then the whole server, killed while counters redeem; every acknowledged
  redemption is there once, none is half-written, the ledger verifies.
- A full disk during writes: a refused write is answered 503 with a clear message,
  nothing is half-written (no row, no kept paper), and the same server works again once
  there is space.
- 1,000 logins from 50 addresses against a real gunicorn with two workers: the
  per-address and per-account limits hold, and the database is never "locked".

The backup drill (a backup during 1,000 redemptions) is in tests/test_backup.py.
"""

import errno
import http.client
import logging
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from baojing.db import out_of_space
from baojing.extensions import db
from baojing.models.certificates import Certificate, SerialCounter
from baojing.models.points import GOODS, CatalogItem
from baojing.services.certificates import issue
from tests import factories
from tests.conftest import PASSWORD, POSTGRESQL, database_copy, make_app, run_sql, sqlite_only
from tests.points_factories import fund
from tests.servers import (
    RECEIPT,
    REPO,
    ClerkSession,
    csrf_of,
    gunicorn,
    login,
    server_env,
    start,
    stop,
    venv_bin,
)
from tests.test_certificates import post_issue


@pytest.fixture
def database(migrated_db, tmp_path):
    yield from database_copy(migrated_db, tmp_path)


def verify_cli(env: dict) -> subprocess.CompletedProcess:
    """`flask points verify` as an operator runs it after a crash."""
    return subprocess.run(
        [venv_bin("flask"), "points", "verify"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


# --- SIGKILL during a stream of redemptions -----------------------------------------------

MEMBERS = 6
FUNDS = 10_000
STOCK = 100_000
THREADS = 4
# Redemptions answered between the faults: enough that each kill lands mid-stream.
BETWEEN_FAULTS = 40


def prepare_store(database) -> dict:
    """Members with points for thousands of soaps, and soap enough for all of them."""
    app = make_app(database)
    with app.app_context():
        org = factories.build_org()
        village = org.villages["tati"]
        members = [factories.member(village, name=f"测试{n}") for n in range(MEMBERS)]
        db.session.flush()
        for m in members:
            fund(m.id, FUNDS)
        soap = CatalogItem(kind=GOODS, name="肥皂", price=1, stock=STOCK)
        db.session.add(soap)
        db.session.commit()
        ids = {"members": [m.id for m in members], "item": soap.id}
        db.session.remove()
        db.engine.dispose()
    return ids


@dataclass
class Job:
    request_id: str
    member_id: int
    attempts: int = 0


@dataclass
class Stream:
    """Counters redeeming one soap at a time; a request without an answer is sent again
    with the same request_id, as a clerk pressing the button again would."""

    server: "Killable"
    clerks: list[ClerkSession]
    members: list[int]
    item: int
    sent: list[Job] = field(default_factory=list)
    retry: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    ok: dict = field(default_factory=dict)  # request_id -> receipt serial
    other: list = field(default_factory=list)  # (request_id, status, body): none expected
    unanswered: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def new_job(self) -> Job:
        with self.lock:
            job = Job(uuid.uuid4().hex, self.members[len(self.sent) % len(self.members)])
            self.sent.append(job)
        return job

    def post(self, job: Job, clerk: ClerkSession, quantity: int = 1) -> tuple[int | None, str]:
        """One POST /store/redeem; (status, body), or (None, why) when no answer came."""
        body = urllib.parse.urlencode({
            "member_id": job.member_id, "item_id": self.item, "quantity": quantity,
            "request_id": job.request_id,
        })  # fmt: skip
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=20)
        try:
            conn.request("POST", "/store/redeem", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": clerk.cookie,
                "X-CSRFToken": clerk.csrf, "HX-Request": "true",
            })  # fmt: skip
            resp = conn.getresponse()
            return resp.status, resp.read().decode(errors="replace")
        except (OSError, http.client.HTTPException) as exc:
            return None, type(exc).__name__  # refused while down, reset by the kill
        finally:
            conn.close()

    def settle(self, job: Job, clerk: ClerkSession) -> bool:
        """Send once; True when the answer is definite."""
        job.attempts += 1
        status, body = self.post(job, clerk)
        if status is None:
            with self.lock:
                self.unanswered[body] += 1
            assert job.attempts < 500, f"{job.request_id}: no answer after {job.attempts} tries"
            return False
        with self.lock:
            if status == 200 and (m := RECEIPT.search(body)):
                self.ok[job.request_id] = m.group(1)
            else:
                self.other.append((job.request_id, status, body[:300]))
        return True

    def counter(self, clerk: ClerkSession) -> None:
        try:
            while not self.stop.is_set():
                try:
                    job = self.retry.get_nowait()
                except queue.Empty:
                    job = self.new_job()
                if not self.settle(job, clerk):
                    self.retry.put(job)
                    time.sleep(0.05)  # the server is down: don't spin
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            self.failures.append(exc)
            self.stop.set()

    def drain(self) -> None:
        """After the stream: settle every request still without an answer."""
        while True:
            try:
                job = self.retry.get_nowait()
            except queue.Empty:
                return
            while not self.settle(job, self.clerks[0]):
                time.sleep(0.1)

    def answered(self) -> int:
        with self.lock:
            return len(self.ok)

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.answered() < count:
            assert not self.failures, self.failures
            assert time.monotonic() < deadline, f"only {self.answered()} answered of {count}"
            time.sleep(0.02)


class Killable:
    """gunicorn, killed with SIGKILL and started again on the same database."""

    def __init__(self, env: dict, log: Path, workers: int):
        self.env, self.log, self.workers = env, log, workers
        self.proc, self.port = start(env, log, workers)

    def workers_pids(self) -> list[int]:
        return children(self.proc.pid)

    def kill_worker(self) -> int:
        """SIGKILL to one worker; the master starts another. Returns the pid killed."""
        pid = self.workers_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_all(self) -> None:
        """SIGKILL to the master and its workers at once (a power cut, the OOM killer)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while alive_in_group(self.proc.pid):
            assert time.monotonic() < deadline, "a worker survived SIGKILL"
            time.sleep(0.05)

    def restart(self) -> None:
        self.proc, self.port = start(self.env, self.log, self.workers)

    def stop(self) -> None:
        stop(self.proc)


def _stat(pid: str) -> list[str] | None:
    try:
        # The fields after "(comm)": state, ppid, pgrp, …
        return (Path("/proc") / pid / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def children(pid: int) -> list[int]:
    return sorted(
        int(d.name)
        for d in Path("/proc").iterdir()
        if d.name.isdigit() and (s := _stat(d.name)) and int(s[1]) == pid and s[0] != "Z"
    )


def alive_in_group(pgid: int) -> list[int]:
    return [
        int(d.name)
        for d in Path("/proc").iterdir()
        if d.name.isdigit() and (s := _stat(d.name)) and int(s[2]) == pgid and s[0] != "Z"
    ]


def test_sigkill_during_redemptions_loses_nothing_acknowledged_and_doubles_nothing(
    database, tmp_path
):
    """A worker, then the whole server, get SIGKILL while four counters redeem; clients
    send a request again (same request_id) until it is answered, as bench/store_fault.py
    does at a larger size. Every 200 is in the database with its receipt, every request
    is there once, no redemption lacks its ledger entry or the reverse, stock and
    balances agree with the ledger, and `flask points verify` passes."""
    ids = prepare_store(database)
    env = server_env(database)
    server = Killable(env, tmp_path / "gunicorn.log", workers=2)
    try:
        clerks = [login(server.port) for _ in range(2)]
        stream = Stream(server, clerks, ids["members"], ids["item"])
        threads = [
            threading.Thread(target=stream.counter, args=(clerks[i % 2],), name=f"counter-{i}")
            for i in range(THREADS)
        ]
        for t in threads:
            t.start()
        try:
            stream.wait_for(BETWEEN_FAULTS)
            killed = server.kill_worker()
            stream.wait_for(stream.answered() + BETWEEN_FAULTS)  # the new worker serves
            assert killed not in server.workers_pids()

            server.kill_all()
            with stream.lock:
                acknowledged = dict(stream.ok)
            # The database as the crash left it: everything answered 200 is committed.
            at_crash = dict(run_sql(database, "SELECT request_id, serial FROM redemptions"))
            assert acknowledged.items() <= at_crash.items()
            server.restart()
            stream.wait_for(stream.answered() + BETWEEN_FAULTS)
        finally:
            stream.stop.set()
            for t in threads:
                t.join(timeout=60)
        assert not stream.failures, stream.failures
        stream.drain()

        # Replays after the restart: the first receipt again, and nothing added.
        replayed = [j for j in stream.sent if j.request_id in acknowledged][:5]
        before = run_sql(database, "SELECT count(*) FROM redemptions")
        for job in replayed:
            status, body = stream.post(job, clerks[1])
            assert status == 200 and RECEIPT.search(body)[1] == acknowledged[job.request_id]
        assert stream.post(replayed[0], clerks[0], quantity=2)[0] == 409  # other content
        assert run_sql(database, "SELECT count(*) FROM redemptions") == before
    finally:
        server.stop()

    print(
        f"\nSIGKILL drill: {len(stream.sent)} requests, {len(stream.ok)} answered 200, "
        f"attempts without an answer {dict(stream.unanswered)}"
    )
    assert not stream.other, stream.other[:3]
    assert stream.unanswered, "no request was cut off: the kills missed the stream"
    sent = {j.request_id for j in stream.sent}
    assert set(stream.ok) == sent
    rows = run_sql(
        database,
        "SELECT r.request_id, r.serial, r.quantity, (SELECT count(*) FROM point_entries e "
        "WHERE e.redemption_id = r.id AND e.kind = 'redeem') FROM redemptions r",
    )
    stored = {request_id: serial for request_id, serial, _, _ in rows}
    assert len(stored) == len(rows)  # one row per request_id
    assert stored == stream.ok  # every 200 stored with its receipt; nothing never asked for
    assert {entries for *_, entries in rows} == {1}  # each with exactly one ledger entry
    orphans = run_sql(
        database,
        "SELECT count(*) FROM point_entries WHERE kind = 'redeem' AND (redemption_id IS NULL "
        "OR redemption_id NOT IN (SELECT id FROM redemptions))",
    )
    assert orphans == [(0,)]
    assert run_sql(database, "SELECT stock FROM catalog_items WHERE id = ?", ids["item"]) == [
        (STOCK - len(rows),)
    ]
    balances = run_sql(database, "SELECT sum(balance) FROM point_accounts")
    assert balances == [(MEMBERS * FUNDS - len(rows),)]
    result = verify_cli(env)
    assert result.returncode == 0, result.stdout + result.stderr
    if not POSTGRESQL:
        assert run_sql(database, "PRAGMA integrity_check") == [("ok",)]
    log = (tmp_path / "gunicorn.log").read_text(errors="replace")
    assert "database is locked" not in log
    assert "Traceback" not in log, log[-3000:]


# --- a full disk during writes -------------------------------------------------------------

STORAGE_FULL = "服务器存储空间不足"
# SQLite's largest max_page_count before 3.45 (its default): "no limit" in effect.
NO_LIMIT = 1073741823


@pytest.fixture
def page_limit(server):
    """Set limit[0] to cap the database at that many pages (PRAGMA max_page_count) on
    every connection the server checks out; None lifts the cap."""
    limit = [None]
    with server.app_context():
        engine = db.engine

    def _cap(dbapi_conn, _record, _proxy):
        dbapi_conn.execute(f"PRAGMA max_page_count={limit[0] or NO_LIMIT}")

    event.listen(engine, "checkout", _cap)
    yield limit
    event.remove(engine, "checkout", _cap)


def kept_papers() -> set[str]:
    """Every file in the papers folder, hidden temporary ones included."""
    return {p.name for p in issue.pdf_folder().iterdir()}


def issued_papers() -> set[str]:
    db.session.rollback()
    return {f"{serial}.pdf" for serial in db.session.scalars(select(Certificate.serial))}


@sqlite_only
def test_a_full_database_refuses_the_write_with_503_keeps_no_paper_and_recovers(
    app, org, login, db_path, page_limit, caplog
):
    """SQLITE_FULL for real, unprivileged and the same on every machine: PRAGMA
    max_page_count caps the database at its current size on every connection the server
    uses (a loop-mounted image or a quota needs root, which a container may not have).
    Free room inside existing pages still takes a few papers, so the township officer
    issues papers until the database has no room left: that request gets 503 and a clear
    message, not a 500; the paper written just before its failing insert is removed
    (no kept file claims an issue the database never recorded); the error is logged
    once, without the member's name. Lifting the cap, the same server issues the same
    form (same request_id)."""
    c = login("township")
    village = org.villages["tati"]
    members = [factories.member(village, name=f"满盘{n}") for n in range(30)]
    db.session.commit()
    page_limit[0] = run_sql(db_path, "PRAGMA page_count")[0][0]
    caplog.set_level(logging.INFO)
    issued = 0
    for n, member in enumerate(members):
        response = post_issue(c, member, request_id=f"disk-full-{n:04d}")
        if response.status_code != 303:
            break
        issued += 1
    else:
        pytest.fail("the capped database took 30 papers")
    print(f"\nfull database: {issued} papers issued before the write was refused")
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[-2000:]
    assert STORAGE_FULL in body and "不会丢失" in body
    assert response.headers["Retry-After"] == "60"
    assert kept_papers() == issued_papers()  # no orphan, no half-written temporary file
    assert len(issued_papers()) == issued
    year = issue.local_today().year
    assert db.session.get(SerialCounter, f"cert-{year}").last == issued
    assert not db.session.scalar(
        select(func.count()).select_from(Certificate).where(Certificate.member_id == member.id)
    )
    refusals = [r for r in caplog.records if "out of storage space" in r.getMessage()]
    assert len(refusals) == 1 and refusals[0].exc_info is None
    assert "OperationalError" in refusals[0].getMessage()
    assert not any("满盘" in r.getMessage() for r in caplog.records)
    assert not any(r.levelno >= logging.ERROR for r in caplog.records if r not in refusals)

    page_limit[0] = None  # space is back
    again = post_issue(c, member, request_id=f"disk-full-{issued:04d}")
    assert again.status_code == 303, again.get_data(as_text=True)[-2000:]
    assert kept_papers() == issued_papers()
    assert len(issued_papers()) == issued + 1
    assert run_sql(db_path, "PRAGMA integrity_check") == [("ok",)]


class _PgError(Exception):
    """What psycopg raises, as far as out_of_space looks: an SQLSTATE."""

    def __init__(self, sqlstate):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("exc", "full"),
    [
        (
            OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full")),
            True,
        ),
        (OperationalError("COMMIT", {}, _PgError("53100")), True),
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
        (OSError(errno.EFBIG, "File too large"), True),
        (OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")), False),
        (OperationalError("COMMIT", {}, _PgError("40001")), False),
        (OSError(errno.EACCES, "Permission denied"), False),
    ],
    ids=["sqlite-full", "pg-53100", "enospc", "edquot", "efbig", "locked", "pg-40001", "eacces"],
)
def test_out_of_space_knows_each_engines_and_the_file_systems_words(exc, full):
    assert out_of_space(exc) is full
    wrapped = RuntimeError("rendering failed")
    wrapped.__cause__ = exc
    assert out_of_space(wrapped) is full


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MB tmpfs, or a skip where mounting is not allowed (an unprivileged container)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the filesystem is full; returns it."""
    filler = folder / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == 28  # ENOSPC
    return filler


def test_a_full_disk_refuses_a_paper_with_503_and_recovers(app, org, login, tiny_disk):
    """ENOSPC for real on the papers' folder: a 1 MB tmpfs (needs root; skipped where it
    can't be mounted), filled up. Issuing gets 503, nothing is kept or recorded, and the
    same server issues the same form once the filler is deleted."""
    app.config["UPLOAD_FOLDER"] = str(tiny_disk)  # the server shares app.config
    c = login("township")
    member = org.members["tati"]
    issue.pdf_folder()  # made while there is room, as on a running server
    filler = fill(tiny_disk)
    response = post_issue(c, member, request_id="disk-full-file")
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[-2000:]
    assert STORAGE_FULL in body
    assert kept_papers() == set() == issued_papers()

    filler.unlink()
    again = post_issue(c, member, request_id="disk-full-file")
    assert again.status_code == 303, again.get_data(as_text=True)[-2000:]
    assert kept_papers() == issued_papers() and len(issued_papers()) == 1
    shutil.rmtree(issue.pdf_folder())  # before the tmpfs goes


# --- 1,000 logins from 50 addresses -----------------------------------------------------------

GUESSERS = 10  # addresses that only guess: 50 wrong passwords each
GUESSES = 50
STAFF = 40  # addresses where people log in: one typo, then 11 or 12 right passwords
ACCOUNTS = 5  # the staff's accounts, each logged into from every staff address
ADDRESS_LIMIT = 30  # LOGIN_ADDRESS_MAX_FAILURES, the default
LOCKED_MESSAGE = "账户已临时锁定"
ADDRESS_MESSAGE = "您所在网络登录失败次数过多"


def prepare_accounts(database) -> list[str]:
    """The org's users and ACCOUNTS clerks more; their usernames."""
    app = make_app(database)
    with app.app_context():
        factories.build_org()
        names = [factories.user(f"counter{n}", "clerk").username for n in range(ACCOUNTS)]
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return names


@dataclass
class Attempt:
    address: str
    username: str
    right: bool
    status: int = 0
    body: str = ""


def attempt_login(port: int, attempt: Attempt, browser: dict) -> None:
    """One POST /login through nginx (X-Forwarded-For); browser keeps a cookie and token
    between failures, and starts afresh after a login succeeds, as a browser's would."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        forwarded = {"X-Forwarded-For": attempt.address, "X-Forwarded-Proto": "http"}
        if not browser:
            conn.request("GET", "/login", headers=forwarded)
            resp = conn.getresponse()
            browser["csrf"] = csrf_of(resp.read().decode())
            browser["cookie"] = resp.getheader("Set-Cookie", "").split(";")[0]
        password = PASSWORD if attempt.right else "wrong horse battery staple"
        body = urllib.parse.urlencode(
            {"username": attempt.username, "password": password, "csrf_token": browser["csrf"]}
        )
        conn.request("POST", "/login", body=body, headers=forwarded | {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": browser["cookie"],
        })  # fmt: skip
        resp = conn.getresponse()
        attempt.status, attempt.body = resp.status, resp.read().decode(errors="replace")
        if attempt.status == 302:
            browser.clear()
    finally:
        conn.close()


def test_a_thousand_logins_from_fifty_addresses_hold_the_limits(database, tmp_path):
    """Against gunicorn with two workers behind nginx (PROXY_FIX, X-Forwarded-For from
    127.0.0.1 as forwarded_allow_ips trusts), as deployed with the default settings.

    Ten addresses guess: 50 wrong passwords each, half at one account ("secretary"),
    half at names that do not exist. Forty addresses are offices where five accounts log
    in, each with one typo first. Each address sends its logins one after another (the
    limits are exact then), all fifty at once. Expected: a guessing address gets 30
    answers, then 429 without a password check; the secretary locks after exactly 10
    failures and stays locked, even for the right password; every office login
    succeeds; no 500, and never "database is locked". The per-address count lives in
    the database (the audit log), so both workers see the same one."""
    names = prepare_accounts(database)
    env = server_env(database, PROXY_FIX="true")
    log = tmp_path / "gunicorn.log"
    plans: list[list[Attempt]] = []
    for g in range(GUESSERS):
        address = f"203.0.113.{g + 1}"
        plans.append([
            Attempt(address, "secretary" if n % 2 else f"nobody{g}-{n}", right=False)
            for n in range(GUESSES)
        ])  # fmt: skip
    for s in range(STAFF):
        address = f"10.20.{s // 10}.{s % 10 + 1}"
        count = 11 if s % 2 else 12
        plan = [Attempt(address, names[s % ACCOUNTS], right=False)]
        plan += [Attempt(address, names[(s + n) % ACCOUNTS], right=True) for n in range(count)]
        plans.append(plan)
    assert sum(map(len, plans)) == 1000

    failures = []

    def run(plan: list[Attempt]) -> None:
        browser: dict = {}
        try:
            for attempt in plan:
                attempt_login(port, attempt, browser)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            failures.append(exc)

    with gunicorn(env, log, workers=2) as port:
        started = time.perf_counter()
        threads = [threading.Thread(target=run, args=(plan,)) for plan in plans]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        elapsed = time.perf_counter() - started
        assert not failures, failures[:3]
        # After the flood, the right password: the secretary is still locked.
        late = Attempt("10.20.9.9", "secretary", right=True)
        attempt_login(port, late, {})
    attempts = [a for plan in plans for a in plan]
    statuses = Counter(a.status for a in attempts)
    print(f"\n1,000 logins from 50 addresses on 2 workers in {elapsed:.1f} s: {dict(statuses)}")

    assert set(statuses) <= {302, 401, 429}, statuses
    for plan in plans[:GUESSERS]:
        answered, refused = plan[:ADDRESS_LIMIT], plan[ADDRESS_LIMIT:]
        assert all(ADDRESS_MESSAGE not in a.body for a in answered), plan[0].address
        assert all(a.status in (401, 429) for a in answered)
        assert all(a.status == 429 and ADDRESS_MESSAGE in a.body for a in refused)
    for plan in plans[GUESSERS:]:
        assert plan[0].status == 401  # the typo
        assert all(a.status == 302 for a in plan[1:]), [a.status for a in plan]
    assert late.status == 429 and LOCKED_MESSAGE in late.body

    outcomes = dict(
        run_sql(
            database,
            "SELECT outcome, count(*) FROM audit_log WHERE action = 'auth.login' AND "
            "username = 'secretary' GROUP BY outcome",
        )
    )
    # Ten failures lock it (the tenth locks), every later try finds it locked: half of
    # each guessing address's 30 answered tries, and the right password at the end.
    assert outcomes == {"bad_password": 9, "locked_now": 1, "locked": 141}, outcomes
    assert run_sql(
        database,
        "SELECT count(*) FROM login_failures WHERE user_id = "
        "(SELECT id FROM users WHERE username = 'secretary')",
    ) == [(10,)]
    per_address = dict(
        run_sql(
            database,
            "SELECT ip, count(*) FROM audit_log WHERE action = 'auth.login' "
            "AND ip LIKE ? GROUP BY ip",
            "203.0.113.%",
        )
    )
    assert per_address == {plan[0].address: ADDRESS_LIMIT for plan in plans[:GUESSERS]}
    locked = run_sql(database, "SELECT locked_until IS NOT NULL FROM users WHERE username = ?",
                     "secretary")  # fmt: skip
    assert locked == [(1,)]
    assert run_sql(database, "SELECT count(*) FROM users WHERE locked_until IS NOT NULL") == [
        (1,)
    ]  # the offices' accounts never locked
    text = log.read_text(errors="replace")
    assert "database is locked" not in text
    assert "Traceback" not in text, text[-3000:]
    assert " 500 " not in text
