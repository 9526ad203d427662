"""Backups of a SQLite instance as one archive, checked before they are trusted.

An archive is a gzip'd tar (the standard library's tarfile) holding:

- `baojing.db`: a copy made with SQLite's online backup API (consistent while the app
  writes), checked with integrity_check and foreign_key_check before it is kept;
- `uploads/…`: every file kept in UPLOAD_FOLDER (issued papers, photos, batch prints);
- `secret_key`: instance/secret_key, when the instance uses one;
- `MANIFEST.json`: the format, when and by which version it was made, the database's
  schema revision (Alembic) and the SHA-256 and size of every other member.

The checksums catch a damaged or altered file, not a forger: whoever can rewrite the
archive can rewrite its manifest. Archives are written 0600 (they hold personal data
and the secret key) under a `.partial` name, then renamed.

PostgreSQL instances are backed up with pg_dump (docs/deploy.md), not with this.
"""

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import create_engine

from baojing import files
from baojing.services import serials
from baojing.services.certificates import issue
from baojing.services.points import redemption, verify

FORMAT = "baojing-backup/1"
MANIFEST = "MANIFEST.json"
DATABASE = "baojing.db"
KEY_FILE = "secret_key"
UPLOADS = "uploads"
_CHUNK = 1 << 20


class BackupProblem(Exception):
    """What is wrong, one line each, in words for the operator."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


# --- the database file ------------------------------------------------------------------


def copy_database(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while the app is writing."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    target.chmod(0o600)


def database_problems(path: Path) -> list[str]:
    """integrity_check and foreign_key_check of a SQLite file; empty when both pass."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [f"数据库打不开：{exc}"]
    try:
        result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            return [f"integrity_check：{line}" for line in result[:20]]
        orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
        return [
            f"foreign_key_check：表 {t} 第 {r} 行指向不存在的 {p}" for t, r, p, _ in orphans[:20]
        ]
    except sqlite3.Error as exc:
        return [f"数据库损坏：{exc}"]
    finally:
        conn.close()


def database_revision(path: Path) -> str | None:
    """The Alembic revision a SQLite file was migrated to; None if it has none."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return row[0] if row else None


def code_revision() -> str:
    """The newest migration this code knows: the revision it expects the database to be at."""
    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    # The revisions import migrations/rules.py: on sys.path, as migrations/env.py puts it.
    if script.dir not in sys.path:
        sys.path.insert(0, script.dir)
    return script.get_current_head()


def ledger_problems(path: Path) -> list[str]:
    """`flask points verify`'s checks, on a database file that is not the app's."""
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with engine.connect() as conn:
            return verify.problems(conn)
    finally:
        engine.dispose()


# --- writing an archive -----------------------------------------------------------------


class _Hashing:
    """A file read once: into the archive and through SHA-256 at the same time."""

    def __init__(self, raw):
        self.raw, self.sha256 = raw, hashlib.sha256()

    def read(self, size=-1):
        data = self.raw.read(size)
        self.sha256.update(data)
        return data


def _add(tar: tarfile.TarFile, name: str, path: Path, listed: dict) -> None:
    with path.open("rb") as raw:
        info = tarfile.TarInfo(name)
        info.size = os.fstat(raw.fileno()).st_size
        info.mtime, info.mode = int(path.stat().st_mtime), 0o600
        reader = _Hashing(raw)
        tar.addfile(info, reader)
    listed[name] = {"sha256": reader.sha256.hexdigest(), "size": info.size}


def kept_files(uploads: Path):
    """(name in the archive, path) of every kept upload; half-written temp files left out."""
    if not uploads.is_dir():
        return
    for path in sorted(uploads.rglob("*")):
        relative = path.relative_to(uploads)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            yield f"{UPLOADS}/{relative.as_posix()}", path


def write_archive(target: Path, database: Path, uploads: Path, secret: Path | None) -> dict:
    """Back up the live database, the uploads and the secret key into one archive at target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = private_folder(target.parent, ".backup-")
    partial = target.with_name(target.name + ".partial")
    try:
        copy = work / DATABASE
        copy_database(database, copy)
        if problems := database_problems(copy):
            raise BackupProblem(problems)
        listed: dict[str, dict] = {}
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.fchmod(fd, 0o600)  # whatever the umask says
        with os.fdopen(fd, "wb") as out:
            with tarfile.open(fileobj=out, mode="w:gz") as tar:
                _add(tar, DATABASE, copy, listed)
                for name, path in kept_files(uploads):
                    try:
                        _add(tar, name, path, listed)
                    except FileNotFoundError:  # a roster upload deleted as its import ended
                        continue
                if secret is not None and secret.is_file():
                    _add(tar, KEY_FILE, secret, listed)
                manifest = {
                    "format": FORMAT,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "app_version": _app_version(),
                    "schema_revision": database_revision(copy),
                    "files": listed,
                }
                body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(body), int(time.time()), 0o600
                tar.addfile(info, _Bytes(body))
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
        files.fsync_dir(target.parent)
        return manifest
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)


class _Bytes:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def read(self, size=-1):
        end = len(self.data) if size < 0 else self.at + size
        chunk, self.at = self.data[self.at : end], min(end, len(self.data))
        return chunk


def _app_version() -> str:
    try:
        return metadata.version("baojing")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- reading and checking an archive ----------------------------------------------------


@dataclass
class Unpacked:
    """An archive checked and unpacked into a private folder."""

    folder: Path
    manifest: dict
    names: list[str] = field(default_factory=list)

    @property
    def database(self) -> Path:
        return self.folder / DATABASE

    @property
    def revision(self) -> str | None:
        return self.manifest.get("schema_revision")

    def uploads(self):
        """(path inside UPLOAD_FOLDER, unpacked file) of every upload in the archive."""
        for name in self.names:
            if name.startswith(f"{UPLOADS}/"):
                yield PurePosixPath(name).relative_to(UPLOADS), self.folder / name


def _safe_name(name: str) -> bool:
    """Only the names an archive of ours holds: nothing absolute, no `..`, no surprises."""
    if name in (DATABASE, KEY_FILE, MANIFEST):
        return True
    path = PurePosixPath(name)
    return (
        path.parts[:1] == (UPLOADS,)
        and len(path.parts) > 1
        and not path.is_absolute()
        and str(path) == name
        and all(part not in ("", ".", "..") for part in path.parts)
    )


def unpack(archive: Path, into: Path) -> Unpacked:
    """Check every member against the manifest while unpacking it into `into` (empty, private);
    then the database's integrity, foreign keys, revision and ledger. BackupProblem lists
    everything that failed."""
    problems: list[str] = []
    seen: dict[str, dict] = {}
    body = None
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = member.name
                if not member.isfile() or not _safe_name(name):
                    problems.append(f"{name}：不是本程序的备份应有的文件，未解开")
                    continue
                if name in seen or (name == MANIFEST and body is not None):
                    problems.append(f"{name}：在备份中出现了两次")
                    continue
                source = tar.extractfile(member)
                if name == MANIFEST:
                    body = source.read()
                    continue
                target = into / name
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                digest, size = hashlib.sha256(), 0
                with open(target, "xb") as out:
                    os.fchmod(out.fileno(), 0o600)
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                seen[name] = {"sha256": digest.hexdigest(), "size": size}
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupProblem([f"备份文件读不出来：{exc}"]) from exc
    manifest = _manifest(body, problems)
    listed = manifest.get("files", seen)  # without a manifest there is nothing to compare
    for name, expected in sorted(listed.items()):
        got = seen.get(name)
        if got is None:
            problems.append(f"{name}：清单里有，备份里没有")
        elif got != expected:
            problems.append(f"{name}：校验和不符（文件已损坏或被改动）")
    problems += [f"{name}：备份里有，清单里没有" for name in sorted(set(seen) - set(listed))]
    unpacked = Unpacked(into, manifest, sorted(seen))
    if DATABASE in seen and not problems:
        problems += database_checks(unpacked.database, unpacked.revision)
    elif DATABASE not in seen:
        problems.append(f"{DATABASE}：备份里没有数据库")
    if problems:
        raise BackupProblem(problems)
    return unpacked


def _manifest(body: bytes | None, problems: list[str]) -> dict:
    if body is None:
        problems.append(f"{MANIFEST}：备份里没有清单")
        return {}
    try:
        manifest = json.loads(body)
    except ValueError:
        problems.append(f"{MANIFEST}：清单不是 JSON")
        return {}
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        problems.append(f"{MANIFEST}：不认识的备份格式 {manifest.get('format')!r}")
        return {}
    if not isinstance(manifest.get("files"), dict):
        problems.append(f"{MANIFEST}：清单没有文件列表")
        return {}
    return manifest


def database_checks(path: Path, revision: str | None) -> list[str]:
    """A backed-up database: sound, at the revision it says, its ledger consistent."""
    if problems := database_problems(path):
        return problems
    found = database_revision(path)
    if found is None:
        return ["数据库没有 alembic_version：不是迁移过的数据库"]
    if revision is not None and found != revision:
        return [f"数据库的结构版本 {found} 与清单记的 {revision} 不符"]
    return [f"积分账本：{line}" for line in ledger_problems(path)]


def unpack_database(path: Path, into: Path) -> Unpacked:
    """A bare .db file (the backups written before archives): checked like an archive's."""
    copy = into / DATABASE
    try:
        copy_database(path, copy)
    except sqlite3.Error as exc:
        raise BackupProblem([f"不是可用的 SQLite 数据库：{exc}"]) from exc
    if problems := database_checks(copy, None):
        raise BackupProblem(problems)
    return Unpacked(into, {"schema_revision": database_revision(copy), "files": {}}, [DATABASE])


def is_sqlite_file(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(16) == b"SQLite format 3\x00"


def private_folder(parent: Path | None, prefix: str) -> Path:
    """A new folder only the service's user can read (mkdtemp: mode 0700); None: in /tmp."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=parent, prefix=prefix))


# --- restoring --------------------------------------------------------------------------


@dataclass
class FilesRestored:
    added: int = 0
    present: int = 0
    # Same name, other bytes: the file here is kept; the archive's copy is put aside.
    differing: list[str] = field(default_factory=list)


def restore_uploads(unpacked: Unpacked, uploads: Path, aside: Path) -> FilesRestored:
    """Put back the archive's uploads without touching a file that is here now.

    Files issued or uploaded after the backup stay (they are the only trace of papers
    handed out since); a file here with the archive's name but other bytes stays too.
    """
    done = FilesRestored()
    for relative, source in unpacked.uploads():
        target = uploads / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            _place(source, target)
            done.added += 1
        except FileExistsError:
            if files.sha256(target.read_bytes()) == files.sha256(source.read_bytes()):
                done.present += 1
            else:
                kept = aside / "from-archive" / relative
                kept.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, kept)
                done.differing.append(str(relative))
    return done


def restore_secret(unpacked: Unpacked, secret: Path) -> str:
    """The archive's secret key, if this instance has none; an existing key is kept."""
    source = unpacked.folder / KEY_FILE
    if not source.exists():
        return "备份中没有 secret_key"
    try:
        _place(source, secret)
        return "已恢复 secret_key"
    except FileExistsError:
        if secret.read_bytes() == source.read_bytes():
            return "secret_key 与备份相同"
        return "secret_key 与备份不同：保留现有的（只影响已登录的会话）"


def _place(source: Path, target: Path) -> None:
    """A new name for a file, never over an existing one (FileExistsError)."""
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # the unpacked archive is on another file system
            raise
        files.write_new(target, source.read_bytes())


def set_aside(database: Path, aside: Path) -> Path | None:
    """Copy the current database into the aside folder before it is replaced."""
    if not database.exists():
        return None
    copy = aside / database.name
    try:
        copy_database(database, copy)
    except sqlite3.Error:
        # Too damaged for SQLite to read: keep its files as they are. No server holds
        # the database (the serving lock), so nothing writes to them meanwhile.
        copy.unlink(missing_ok=True)
        for suffix in ("", "-wal"):
            if (found := Path(f"{database}{suffix}")).exists():
                shutil.copy2(found, aside / f"{database.name}{suffix}")
    return copy


# --- serials: never hand out a number twice ---------------------------------------------


def used_serials(databases: list[Path], uploads: Path) -> dict[str, int]:
    """The highest number of every serial series that is known to be used.

    A restored database's counters stand where they stood at the backup, but papers,
    transfer letters and receipts numbered since are out in the world. Their traces:
    the kept PDFs (named by serial, never deleted), and the database as it was before the
    restore (its counters, papers, receipts and audit log), when it can still be read.
    The restored database itself is read too, in case its counters ever lag its rows.
    """
    used: dict[str, int] = {}

    def saw(series: str, number: int) -> None:
        used[series] = max(used.get(series, 0), number)

    folder = uploads / "certificates"
    if folder.is_dir():
        for path in folder.glob("*.pdf"):
            if parsed := issue.serial_counter(path.stem):
                saw(*parsed)
    for database in databases:
        try:
            _serials_in(database, saw)
        except sqlite3.Error as exc:  # the database before the restore may be damaged
            current_app.logger.warning("serials not read from %s: %s", database, exc)
    return used


def _serials_in(database: Path, saw) -> None:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        for series, last in conn.execute("SELECT series, last FROM serial_counters"):
            saw(series, last)
        papers = conn.execute(
            "SELECT serial FROM certificates UNION ALL SELECT serial FROM transfers "
            "UNION ALL SELECT json_extract(after, '$.serial') FROM audit_log "
            "WHERE action IN ('certificate.issue', 'transfer.issue')"
        )
        for (serial,) in papers:
            if isinstance(serial, str) and (parsed := issue.serial_counter(serial)):
                saw(*parsed)
        receipts = conn.execute(
            "SELECT serial FROM redemptions UNION ALL SELECT json_extract(after, '$.serial') "
            "FROM audit_log WHERE action = 'store.redeem'"
        )
        for (serial,) in receipts:
            if isinstance(serial, str) and (number := redemption.receipt_number(serial)):
                saw("redemption", number)
    finally:
        conn.close()


def catch_up_serials(used: dict[str, int]) -> dict[str, int]:
    """Move the app database's counters past every used number; returns those moved."""
    return {series: n for series, n in sorted(used.items()) if serials.catch_up(series, n)}


def unrecorded_papers(uploads: Path, recorded: set[str]) -> list[str]:
    """Kept papers whose serial the database does not know: issued after the backup."""
    folder = uploads / "certificates"
    if not folder.is_dir():
        return []
    return sorted(
        p.stem
        for p in folder.glob("*.pdf")
        if issue.serial_counter(p.stem) and p.stem not in recorded
    )
