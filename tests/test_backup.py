"""`flask backup create|verify|restore`: one private archive (database, uploads, issued
papers, secret key, manifest); a restore that checks before and after, refuses a running
server and another schema, keeps the current database aside, never loses a kept paper and
never hands a serial out twice."""

import io
import json
import os
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import click
import pytest
from flask.cli import run_command
from sqlalchemy import func, select

from baojing import serving
from baojing.dates import local_today
from baojing.db import writing
from baojing.extensions import db
from baojing.models.certificates import Certificate, SerialCounter
from baojing.models.members import Member
from baojing.models.points import GOODS, CatalogItem, Redemption
from baojing.models.users import User
from baojing.services import backup
from baojing.services.certificates import issue
from baojing.services.points import redemption
from baojing.services.points.redemption import RedeemRequest
from tests.conftest import make_app, sqlite_only
from tests.points_factories import build_store, fund
from tests.servers import REPO, gunicorn, server_env, venv_bin

pytestmark = sqlite_only

KEY = "instance-secret-key-0123456789abcdef0123456789abcdef"


@pytest.fixture
def app(db_path, tmp_path):
    """The conftest app, with its generated-key file in the test's folder (not instance/)."""
    key_file = tmp_path / "secret_key"
    key_file.write_text(KEY)
    key_file.chmod(0o600)
    app = make_app(db_path, SECRET_KEY_FILE=str(key_file))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    serving.release()


@pytest.fixture
def people(org) -> dict[str, int]:
    """Ids of the org's members and users (a restore ends the session their objects are in)."""
    return {key: m.id for key, m in org.members.items()} | {
        f"user:{key}": u.id for key, u in org.users.items()
    }


def cli(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def give_paper(people, key: str) -> Certificate:
    """Issue a letter to a member, as the township officer."""
    db.session.rollback()  # write under the write lock, not from an older read snapshot
    with writing():
        member = db.session.get(Member, people[key])
        cert = issue.issue(member, db.session.get(User, people["user:township"]), {
            "kind": "letter", "valid_until": local_today() + timedelta(days=100),
            "reason": "外出务工", "destination": "浙江省杭州市",
        })  # fmt: skip
        db.session.commit()
    return cert


def uploads(app) -> Path:
    return Path(app.config["UPLOAD_FOLDER"])


def members_of(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}


def rewrite(archive: Path, change) -> None:
    """Write the archive again with change(name, data) → data (None drops the member)."""
    members = members_of(archive)
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in members.items():
            data = change(name, data)
            if data is not None:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def rows(path: Path, sql: str):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# --- the archive ------------------------------------------------------------------------


def test_an_archive_is_one_private_file_with_everything_and_a_manifest(app, org, people, tmp_path):
    paper = give_paper(people, "tati")
    photo = uploads(app) / "care" / "0123abcd.jpg"
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(b"\xff\xd8 a visit photo")
    (photo.parent / ".0123abcd.jpg.half").write_bytes(b"half-written")  # a temp file: left out
    archive = tmp_path / "backups" / "baojing-20260101.tar.gz"
    old_umask = os.umask(0)  # however permissive the service's umask
    try:
        result = cli(app, "backup", "create", archive)
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0, result.output
    assert archive.stat().st_mode & 0o777 == 0o600
    assert list(archive.parent.iterdir()) == [archive]  # no .partial or work folder left

    members = members_of(archive)
    paper_name = f"uploads/certificates/{paper.serial}.pdf"
    assert set(members) == {
        "baojing.db",
        paper_name,
        "uploads/care/0123abcd.jpg",
        "secret_key",
        "MANIFEST.json",
    }
    assert members[paper_name] == issue.stored_pdf(paper)
    assert members["secret_key"].decode() == KEY
    manifest = json.loads(members.pop("MANIFEST.json"))
    assert manifest["format"] == "baojing-backup/1"
    assert manifest["schema_revision"] == backup.code_revision()
    assert manifest["app_version"] and manifest["created_at"]
    for name, data in members.items():
        entry = manifest["files"][name]
        assert (entry["sha256"], entry["size"]) == (backup.files.sha256(data), len(data))
    assert set(manifest["files"]) == set(members)

    result = cli(app, "backup", "verify", archive)
    assert result.exit_code == 0, result.output
    assert "备份完好" in result.output


def test_verify_and_restore_from_the_command_line(app, org, db_path, tmp_path):
    """As an operator runs them: a new interpreter, nothing loaded before."""
    archive = tmp_path / "b.tar.gz"
    assert cli(app, "backup", "create", archive).exit_code == 0
    env = server_env(db_path) | {
        "BAOJING_UPLOAD_FOLDER": str(uploads(app)),
        "BAOJING_SECRET_KEY_FILE": app.config["SECRET_KEY_FILE"],  # not instance/'s
    }
    for args in (["verify", archive], ["restore", archive, "--yes"]):
        done = subprocess.run(
            [venv_bin("flask"), "backup", *map(str, args)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert "恢复完成" in done.stdout


@pytest.mark.parametrize(
    ("change", "named"),
    [
        # A kept paper altered after the backup was written.
        (lambda n, d: d + b"x" if n.startswith("uploads/certificates/") else d, "uploads/"),
        # The database altered (its manifest entry no longer matches).
        (lambda n, d: d[:-1] + b"\x01" if n == "baojing.db" else d, "baojing.db"),
        # A member gone, the manifest left as it was.
        (lambda n, d: None if n == "secret_key" else d, "secret_key"),
        # No manifest at all.
        (lambda n, d: None if n == "MANIFEST.json" else d, "MANIFEST.json"),
    ],
    ids=["paper", "database", "missing", "manifest"],
)
def test_verify_names_what_was_tampered_with(app, org, people, tmp_path, change, named):
    give_paper(people, "tati")
    archive = tmp_path / "b.tar.gz"
    assert cli(app, "backup", "create", archive).exit_code == 0
    rewrite(archive, change)
    result = cli(app, "backup", "verify", archive)
    assert result.exit_code != 0
    assert "未通过检查" in result.output and named in result.output


def test_verify_refuses_a_member_that_would_land_outside_its_folder(app, org, tmp_path):
    archive = tmp_path / "b.tar.gz"
    assert cli(app, "backup", "create", archive).exit_code == 0
    members = members_of(archive)
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in [*members.items(), ("uploads/../../escaped", b"boo")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    result = cli(app, "backup", "verify", archive)
    assert result.exit_code != 0 and "escaped" in result.output
    assert not (Path(tempfile.gettempdir()) / "escaped").exists()  # where verify unpacks


# --- restoring --------------------------------------------------------------------------


def redeem_once(people, item_id: int, member_key: str = "tati") -> str:
    """One redemption at the counter; its receipt serial."""
    member_id = people[member_key]
    db.session.rollback()
    with writing():
        done = redemption.redeem(
            db.session.get(User, people["user:clerk"]), db.session.get(Member, member_id),
            RedeemRequest(member_id, item_id, 1), uuid.uuid4().hex,
        )  # fmt: skip
        serial = done.serial
        db.session.commit()
    return serial


def test_restoring_an_older_archive_never_reuses_a_serial_nor_touches_a_kept_paper(
    app, org, people, tmp_path
):
    store = build_store()
    store.rice.stock = 100
    fund(org.members["tati"].id, 500)
    db.session.commit()
    give_paper(people, "tati")
    redeem_once(people, store.rice.id)
    archive = tmp_path / "b.tar.gz"
    assert cli(app, "backup", "create", archive).exit_code == 0
    # After the backup: a paper handed out and a receipt printed, then the restore.
    rice = store.rice.id
    later = give_paper(people, "angdong")
    later_serial, later_path, later_pdf = (
        later.serial,
        issue.pdf_path(later),
        issue.stored_pdf(later),
    )
    later_receipt = redeem_once(people, rice)

    result = cli(app, "backup", "restore", archive, "--yes")
    assert result.exit_code == 0, result.output
    assert later_serial in result.output  # the paper the restored database does not know
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 1
    assert later_path.read_bytes() == later_pdf

    year = local_today().year
    assert db.session.get(SerialCounter, f"cert-{year}").last == 2
    assert db.session.get(SerialCounter, "redemption").last == redemption.receipt_number(
        later_receipt
    )
    newer = give_paper(people, "xinmin")
    assert newer.serial.endswith("-00003")
    assert later_path.read_bytes() == later_pdf
    assert redeem_once(people, rice) != later_receipt
    assert cli(app, "points", "verify").exit_code == 0


def test_restore_copies_the_current_database_aside_first(app, org, people, db_path, tmp_path):
    archive = tmp_path / "b.tar.gz"
    assert cli(app, "backup", "create", archive).exit_code == 0
    give_paper(people, "tati")  # only in the current database
    result = cli(app, "backup", "restore", archive, "--yes")
    assert result.exit_code == 0, result.output
    (aside,) = db_path.parent.glob("before-restore-*")
    assert aside.stat().st_mode & 0o777 == 0o700
    copy = aside / db_path.name
    assert copy.stat().st_mode & 0o777 == 0o600
    assert rows(copy, "SELECT count(*) FROM certificates") == [(1,)]
    assert rows(db_path, "SELECT count(*) FROM certificates") == [(0,)]
    assert str(aside) in result.output
    assert not list(db_path.parent.glob(".restore-*"))  # the unpacked archive is gone


def test_a_check_failing_after_the_restore_puts_the_database_back(
    app, org, people, db_path, tmp_path, monkeypatch
):
    archive = tmp_path / "b.tar.gz"
    assert cli(app, "backup", "create", archive).exit_code == 0
    give_paper(people, "tati")
    real = backup.database_problems
    monkeypatch.setattr(
        backup, "database_problems",
        lambda path: ["integrity_check：第 3 页损坏"] if path == db_path else real(path),
    )  # fmt: skip
    result = cli(app, "backup", "restore", archive, "--yes")
    assert result.exit_code != 0
    assert "已放回恢复前的数据库" in result.output and "第 3 页损坏" in result.output
    assert rows(db_path, "SELECT count(*) FROM certificates") == [(1,)]


def test_restore_is_refused_on_another_schema_revision(app, org, people, db_path, tmp_path):
    head = backup.code_revision()
    archive = tmp_path / "b.tar.gz"
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE alembic_version SET version_num = 'a1b2c3d4e5f6'")
    conn.commit()
    try:
        assert cli(app, "backup", "create", archive).exit_code == 0
    finally:
        conn.execute("UPDATE alembic_version SET version_num = ?", (head,))
        conn.commit()
        conn.close()
    give_paper(people, "tati")
    result = cli(app, "backup", "restore", archive, "--yes")
    assert result.exit_code != 0
    assert "a1b2c3d4e5f6" in result.output and "flask db upgrade" in result.output
    assert rows(db_path, "SELECT count(*) FROM certificates") == [(1,)]
    assert not list(db_path.parent.glob("before-restore-*"))  # nothing was touched


def test_restore_is_refused_while_a_server_holds_the_lock(app, org, people, db_path, tmp_path):
    archive = tmp_path / "b.tar.gz"
    assert cli(app, "backup", "create", archive).exit_code == 0
    give_paper(people, "tati")
    serving.hold(make_app(db_path))  # as a gunicorn worker does when it starts
    result = cli(app, "backup", "restore", archive, "--yes")
    assert result.exit_code != 0
    assert "服务正在运行" in result.output and "停止服务" in result.output
    assert rows(db_path, "SELECT count(*) FROM certificates") == [(1,)]
    serving.release()  # the server stopped
    assert cli(app, "backup", "restore", archive, "--yes").exit_code == 0


def test_flask_run_holds_the_serving_lock_and_other_commands_do_not(app, db_path):
    make_app(db_path)  # a command-line tool, a test
    with serving.exclusive(app):
        pass
    with click.Context(run_command):  # how `flask run` builds the app
        make_app(db_path)
    with pytest.raises(serving.Serving), serving.exclusive(app):
        pass


def test_gunicorn_workers_hold_the_serving_lock(app, org, db_path, tmp_path):
    archive = tmp_path / "b.tar.gz"
    assert cli(app, "backup", "create", archive).exit_code == 0
    with gunicorn(server_env(db_path), tmp_path / "gunicorn.log", workers=1):
        result = cli(app, "backup", "restore", archive, "--yes")
        assert result.exit_code != 0 and "服务正在运行" in result.output
    assert cli(app, "backup", "restore", archive, "--yes").exit_code == 0


def test_restore_still_takes_a_bare_database_file(app, org, people, db_path, tmp_path):
    """The nightly .db files written before archives existed."""
    old = tmp_path / "baojing-20250101.db"
    backup.copy_database(db_path, old)
    give_paper(people, "tati")
    result = cli(app, "backup", "restore", old, "--yes")
    assert result.exit_code == 0, result.output
    assert rows(db_path, "SELECT count(*) FROM certificates") == [(0,)]
    assert db.session.get(SerialCounter, f"cert-{local_today().year}").last == 1


# --- the fault drill --------------------------------------------------------------------

REDEMPTIONS = 1000
COUNTERS = 4


def _patient(dbapi_conn, _record):
    """After the app's own connect listener (db.py): a minute of waiting for the lock."""
    dbapi_conn.execute("PRAGMA busy_timeout=60000")


def test_a_backup_taken_during_1000_redemptions_restores_to_a_verified_ledger(
    app, org, db_path, tmp_path
):
    """SECURITY.md's fault drill: backups while four counters redeem, then a restore.

    The four counters are threads of this one process, so they also wait for each other's
    turn at the interpreter: on a busy machine a writer could wait past the app's 5 s
    busy timeout and fail with "database is locked", which says nothing about backups (in
    production each counter is its own worker process; tests/test_fault_drills.py drives
    those). The drill is about what a backup holds, so its connections wait longer.
    """
    from sqlalchemy import event

    event.listen(db.engine, "connect", _patient, insert=False)
    db.engine.dispose()  # the pool's connections were made with the 5 s timeout
    item = CatalogItem(kind=GOODS, name="肥皂", price=1, stock=REDEMPTIONS)
    db.session.add(item)
    members = [org.members[key] for key in ("tati", "angdong", "xinmin")]
    for member in members:
        fund(member.id, REDEMPTIONS)
    db.session.commit()
    item_id, clerk_id = item.id, org.users["clerk"].id
    member_ids = [m.id for m in members]
    done = []
    failures = []

    def counter(number: int) -> None:
        with app.app_context():
            try:
                for i in range(number, REDEMPTIONS, COUNTERS):
                    member_id = member_ids[i % len(member_ids)]
                    with writing():
                        redemption.redeem(
                            db.session.get(User, clerk_id), db.session.get(Member, member_id),
                            RedeemRequest(member_id, item_id, 1), f"drill-{i}",
                        )  # fmt: skip
                        db.session.commit()
                    done.append(i)
            except Exception as exc:  # reported in the main thread
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=counter, args=(n,)) for n in range(COUNTERS)]
    for thread in threads:
        thread.start()
    archives = []
    while any(t.is_alive() for t in threads) and len(archives) < 3:
        if len(done) >= (len(archives) + 1) * REDEMPTIONS // 4:
            archive = tmp_path / f"during-{len(archives)}.tar.gz"
            result = cli(app, "backup", "create", archive)
            assert result.exit_code == 0, result.output
            archives.append((archive, len(done)))
        threading.Event().wait(0.01)
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert len(done) == REDEMPTIONS
    assert archives, "the redemptions ended before a backup was taken"

    for archive, _ in archives:
        result = cli(app, "backup", "verify", archive)
        assert result.exit_code == 0, result.output
    archive, _ = archives[0]
    result = cli(app, "backup", "restore", archive, "--yes")
    assert result.exit_code == 0, result.output
    result = cli(app, "points", "verify")
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    restored = db.session.scalar(select(func.count()).select_from(Redemption))
    assert 0 < restored < REDEMPTIONS  # taken in the middle of the stream
    # Receipts printed after the backup keep their numbers to themselves.
    assert db.session.get(SerialCounter, "redemption").last >= REDEMPTIONS
