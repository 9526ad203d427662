"""One roster import, from the uploaded file to the registry.

upload → preview (every row checked, nothing written) → the importer's choices (column
mapping, villages to create, which changed rows to update) → the rows go in, one batch
of BATCH_ROWS per transaction. A batch records how far it got together with its rows,
so an import cut off by a restart resumes after the last batch that committed. An ID
number is never registered twice: each batch checks the registry again inside its own
write transaction, and the database's unique index has the last word.

The slow parts (reading the file, parsing the cells) run before the write lock is
taken; only the look-ups against the registry and the writes run under it.
"""

import json
import secrets
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from baojing import audit, files
from baojing.dates import local_today
from baojing.db import refresh_statistics, write_now, writing
from baojing.extensions import db
from baojing.models.members import ACTIVE, Member
from baojing.models.org import VILLAGE, OrgUnit
from baojing.models.roster import (
    CANCELLED,
    DONE,
    FAILED,
    PREVIEWED,
    QUEUED,
    RUNNING,
    RosterImport,
)
from baojing.models.types import utcnow
from baojing.models.users import COUNTY_ADMIN, TOWNSHIP_OFFICER, User
from baojing.services import RuleViolation, branches, exports
from baojing.services.roster import checking, fields, reading
from baojing.services.roster.checking import CHANGED, NEW, REFUSED, UNCHANGED, RowCheck
from baojing.validators import id_birth_date, id_gender

BATCH_ROWS = 100  # a batch holds the write lock ~40 ms: the counter barely waits
STALL_MINUTES = 5  # a running import with no batch for this long lost its worker
PREVIEW_KEEP_DAYS = 7  # an upload nobody confirmed is dropped, file and all
KEEP_DAYS = 30  # refused rows (personal data) are kept this long for the error file
# A member's audit row carries these; id and phone are masked by audit.snapshot.
AUDITED = ("name", "id_number", "phone", "village_id", "join_date", "membership")
ERRORS_HEADING = fields.ERRORS_HEADING
NO_VILLAGE = "组织架构中还没有村党支部“{name}”，没有选择新建"


@dataclass(frozen=True)
class Importer:
    """Who imports, and into which scope: a township officer their township, the county all."""

    user: User | None  # None: the command line
    township_id: int | None

    @classmethod
    def of(cls, user: User) -> "Importer":
        if user.role == COUNTY_ADMIN:
            return cls(user, None)
        if user.role == TOWNSHIP_OFFICER and user.township_id:
            return cls(user, user.township_id)
        raise PermissionError(user.role)


@dataclass
class Plan:
    """What an import of a sheet would do, as the preview shows it."""

    checks: list[RowCheck]
    missing: list[str]  # required columns the mapping does not name
    unknown: list[tuple[int, str]]  # headings not recognised (column, heading)

    def of(self, outcome: str) -> list[RowCheck]:
        return [c for c in self.checks if c.outcome == outcome]

    def needs_village(self) -> list[RowCheck]:
        return [c for c in self.checks if c.outcome != REFUSED and c.new_village]

    def new_villages(self) -> list[list]:
        """[township id, township, village, rows] for each village the tree lacks."""
        names = checking.OrgIndex.township_names_now()
        counted: dict[tuple[int, str], int] = {}
        for check in self.needs_village():
            key = (check.township_id, check.new_village)
            counted[key] = counted.get(key, 0) + 1
        return [[tid, names.get(tid, ""), name, n] for (tid, name), n in sorted(counted.items())]


def folder() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "roster"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _file(job: RosterImport) -> Path:
    return folder() / f"{job.file_token}.{job.file_kind}"


def max_rows() -> int:
    return current_app.config["ROSTER_MAX_ROWS"]


# --- planning (nothing written) -----------------------------------------------------------


def plan(sheet: reading.Sheet, mapping: dict[int, str], importer: Importer, today: date) -> Plan:
    """Every row of the sheet checked against the rules, the org tree and the registry."""
    missing = [
        fields.BY_NAME[name].label for name in fields.REQUIRED if name not in mapping.values()
    ]
    unknown = [
        (col, heading)
        for col, heading in enumerate(sheet.headings)
        if heading and col not in mapping and not fields.is_ignored(heading)
    ]
    if missing:
        return Plan([], missing, unknown)
    checks = checking.check_rows(
        sheet.rows, mapping, checking.OrgIndex(), importer.township_id, today
    )
    return Plan(checks, missing, unknown)


def read_file(path: Path, kind: str) -> reading.Sheet:
    try:
        return reading.read(path, kind, max_rows())
    except reading.UnreadableFile as exc:
        raise RuleViolation({"file": str(exc)}) from exc


# --- the web's import job ------------------------------------------------------------------


def start(importer: Importer, filename: str, data: bytes) -> RosterImport:
    """Keep the upload, read it and record the preview; nothing reaches the registry yet."""
    if not data:
        raise RuleViolation({"file": "请选择花名册文件"})
    try:
        kind = reading.sniff(data)
    except reading.UnreadableFile as exc:
        raise RuleViolation({"file": str(exc)}) from exc
    token = secrets.token_hex(16)
    path = folder() / f"{token}.{kind}"
    files.write_new(path, data)
    try:
        sheet = read_file(path, kind)
        mapping = fields.guess_mapping(sheet.headings)
        found = plan(sheet, mapping, importer, local_today())
        write_now()  # the file read and checked without the lock; now the few writes
        purge_old()
        job = RosterImport(
            user_id=importer.user.id, township_id=importer.township_id,
            filename=Path(filename or "花名册").name[:120], file_token=token, file_kind=kind,
            file_sha256=files.sha256(data), status=PREVIEWED, total_rows=len(sheet.rows),
            headings=json.dumps(sheet.headings, ensure_ascii=False), mapping=json.dumps(mapping),
        )  # fmt: skip
        db.session.add(job)
        db.session.flush()
        _record_preview(job, sheet, found)
    except BaseException:
        path.unlink(missing_ok=True)  # nothing refers to it: it must not stay on disk
        raise
    audit.record("roster.upload", job, after={"kind": kind, "rows": job.total_rows})
    return job


def headings_of(job: RosterImport) -> list[str]:
    return json.loads(job.headings)


def mapping_of(job: RosterImport) -> dict[int, str]:
    return {int(col): name for col, name in json.loads(job.mapping).items() if name}


def remap(job: RosterImport, importer: Importer, chosen: dict[int, str]) -> None:
    """The importer says what the columns it didn't recognise hold (or 忽略)."""
    _must_be(job, PREVIEWED)
    headings = headings_of(job)
    mapping = {}
    for col, name in chosen.items():
        if not (0 <= col < len(headings)) or (name and name not in fields.BY_NAME):
            raise RuleViolation({"mapping": "列的对应关系无效，请重新选择"})
        if name:
            mapping[col] = name
    doubled = {n for n in mapping.values() if list(mapping.values()).count(n) > 1}
    if doubled:
        labels = "、".join(fields.BY_NAME[n].label for n in doubled)
        raise RuleViolation({"mapping": f"{labels} 对应了不止一列，每项只能选一列"})
    sheet = _read_kept(job)
    found = plan(sheet, mapping, importer, local_today())
    write_now()
    job = db.session.get(RosterImport, job.id)
    _must_be(job, PREVIEWED)
    job.mapping = json.dumps(mapping)
    _record_preview(job, sheet, found)
    audit.record("roster.remap", job, after={"columns": len(mapping)})


def _read_kept(job: RosterImport) -> reading.Sheet:
    """The upload as it was sent: a file changed or gone since is refused, not imported."""
    path = _file(job)
    try:
        files.read_verified(path, job.file_sha256)
    except (OSError, RuntimeError) as exc:
        raise RuleViolation({"confirm": "上传的文件已不在或已被改动，请重新上传"}) from exc
    return read_file(path, job.file_kind)


def _record_preview(job: RosterImport, sheet: reading.Sheet, found: Plan) -> None:
    org_names = checking.OrgIndex.village_names_now()
    refused = found.of(REFUSED)
    preview = {
        "missing": found.missing,
        "unknown": found.unknown,
        "skipped": len(sheet.rows) - len(found.checks) if not found.missing else 0,
        "blank": sheet.blank_rows,
        "sheet": sheet.name,
        "other_sheets": sheet.other_sheets,
        "counts": {
            "new": sum(1 for c in found.of(NEW) if not c.new_village),
            "changed": len(found.of(CHANGED)),
            "unchanged": len(found.of(UNCHANGED)),
            "refused": len(refused),
            "needs_village": len(found.needs_village()),
        },
        "new_villages": found.new_villages(),
        "changed": [
            {
                "row": c.row,
                "name": c.data.get("name", ""),
                "diff": [
                    [checking.COMPARED[f], _shown(f, old, org_names), _shown(f, new, org_names)]
                    for f, (old, new) in c.diff.items()
                ],
                # What was registered when the importer chose: an update changes a field
                # only if it still holds this (someone's edit since is not overwritten).
                "was": {f: _plain(old) for f, (old, _new) in c.diff.items()},
            }
            for c in found.of(CHANGED)
        ],
        "refusals": [[r.row, r.column, r.value, r.reason] for c in refused for r in c.refusals],
    }
    job.preview = json.dumps(preview, ensure_ascii=False)
    job.refused = json.dumps(_refused_rows(refused), ensure_ascii=False)
    job.refused_count = len(refused)


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def _shown(field_name: str, value, village_names: dict) -> str:
    if field_name == "village_id" and isinstance(value, int):
        return village_names.get(value, "")
    if isinstance(value, bool):
        return "是" if value else "否"
    if field_name == "membership":
        return {"full": "正式党员", "probationary": "预备党员"}.get(value, value)
    return fields.text(value)


def _refused_rows(checks: list[RowCheck]) -> list[dict]:
    return [
        {
            "row": c.row,
            "cells": [
                cell if isinstance(cell, int | float) else fields.text(cell) for cell in c.cells
            ],
            "reasons": "；".join(f"{r.column}：{r.reason}" for r in c.refusals),
        }
        for c in checks
    ]


def preview_of(job: RosterImport) -> dict:
    return json.loads(job.preview or "{}")


def confirm(job: RosterImport, update_rows: set[int], create_villages: bool) -> RosterImport:
    """The importer's go: queue the rows (the caller then runs the job)."""
    _must_be(job, PREVIEWED)
    preview = preview_of(job)
    if "counts" not in preview and not preview.get("missing"):
        raise RuleViolation({"confirm": "这次检查结果已过期，请重新上传文件"})
    if preview.get("missing"):
        raise RuleViolation({"confirm": "还缺少必需的列，请先在上面选好每一列"})
    changed_rows = {c["row"] for c in preview.get("changed", [])}
    job.update_rows = json.dumps(sorted(update_rows & changed_rows))
    job.create_villages = bool(create_villages)
    job.status, job.stepped_at = QUEUED, utcnow()
    job.done_rows = job.created_count = job.updated_count = job.unchanged_count = 0
    job.refused_count, job.refused = 0, "[]"
    audit.record(
        "roster.confirm", job,
        after={"update_rows": len(json.loads(job.update_rows)), "create_villages": create_villages},
    )  # fmt: skip
    return job


def cancel(job: RosterImport) -> None:
    """Drop a previewed import; its file goes at once."""
    _must_be(job, PREVIEWED)
    _drop(job, CANCELLED)
    audit.record("roster.cancel", job)


def _drop(job: RosterImport, status: str) -> None:
    job.status, job.finished_at = status, job.finished_at or utcnow()
    job.preview, job.refused = "{}", "[]"
    _file(job).unlink(missing_ok=True)


def _must_be(job: RosterImport, status: str) -> None:
    if job.status != status:
        raise RuleViolation({"confirm": f"这次导入已{job.status_label}，不能再修改"})


def stalled(job: RosterImport, now=None) -> bool:
    cutoff = (now or utcnow()) - timedelta(minutes=_stall_minutes())
    return job.status in (QUEUED, RUNNING) and (job.stepped_at or job.created_at) < cutoff


def resumable(job: RosterImport) -> bool:
    return job.status == FAILED and not job.error.startswith("已过期") or stalled(job)


def _stall_minutes() -> int:
    return current_app.config.get("ROSTER_STALL_MINUTES", STALL_MINUTES)


def resume(job: RosterImport) -> RosterImport:
    """Claim a failed or stalled import, once, however many people click 继续."""
    cutoff = utcnow() - timedelta(minutes=_stall_minutes())
    claimed = db.session.execute(
        update(RosterImport)
        .where(
            RosterImport.id == job.id,
            or_(
                RosterImport.status == FAILED,
                and_(RosterImport.status.in_((QUEUED, RUNNING)), RosterImport.stepped_at < cutoff),
            ),
        )
        .values(status=QUEUED, error="", stepped_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise RuleViolation({"confirm": "这次导入正在进行，无需继续"})
    db.session.refresh(job)
    audit.record("roster.resume", job, after={"done_rows": job.done_rows})
    return job


def run_in_background(job_id: int, user_id: int, ip: str) -> threading.Thread:
    app = current_app._get_current_object()
    thread = threading.Thread(
        target=_run_thread, args=(app, job_id, user_id, ip), name=f"roster-{job_id}", daemon=True
    )
    thread.start()
    return thread


def _run_thread(app, job_id: int, user_id: int, ip: str) -> None:
    # Not reniced, unlike the certificate batch: this thread spends its time under the
    # write lock, and a slowed lock holder would hold up the counter longer.
    with app.app_context():
        try:
            run(job_id, user_id, ip)
        except Exception as exc:  # noqa: BLE001 - the job records any failure for its page
            app.logger.exception("roster import %s failed", job_id)
            db.session.rollback()
            with writing():
                job = db.session.get(RosterImport, job_id)
                job.status, job.error = FAILED, type(exc).__name__[:200]
                db.session.commit()
        finally:
            db.session.remove()


def run(job_id: int, user_id: int, ip: str = "") -> RosterImport:
    """Do (or finish) a confirmed import, one committed batch at a time; audited as the
    user who confirmed it (or resumed it), from the address they did it from."""
    with writing():
        user = db.session.get(User, user_id)
        with audit.acting_as(user, ip=ip):
            return _run(db.session.get(RosterImport, job_id), user)


def _run(job: RosterImport, user: User) -> RosterImport:
    importer = Importer(user, job.township_id)
    job.status, job.stepped_at = RUNNING, utcnow()
    stamp = job.stepped_at
    db.session.commit()
    sheet = _read_kept(job)
    mapping = mapping_of(job)
    today = local_today()
    preview = preview_of(job)
    if job.create_villages and job.done_rows == 0:
        create_villages(preview.get("new_villages", []), importer)
        db.session.commit()
    update_rows = set(json.loads(job.update_rows))
    was = {c["row"]: c["was"] for c in preview.get("changed", []) if c["row"] in update_rows}
    done = job.done_rows
    seen: dict[str, int] = {}
    checking.parse_rows(sheet.rows[:done], mapping, today, seen)  # as a straight run had it
    db.session.commit()  # no snapshot held while the next batch is parsed
    while done < len(sheet.rows):
        rows = sheet.rows[done : done + BATCH_ROWS]
        counts, refusals = apply_batch(rows, mapping, importer, today, seen, was)
        db.session.refresh(job)
        if job.stepped_at != stamp:
            # Someone resumed it while this thread was slow: that runner carries on.
            db.session.rollback()
            return job
        job.created_count += counts[NEW]
        job.updated_count += counts[CHANGED]
        job.unchanged_count += counts[UNCHANGED]
        job.refused_count += len(refusals)
        if refusals:
            job.refused = json.dumps(
                json.loads(job.refused) + _refused_rows(refusals), ensure_ascii=False
            )
        done = job.done_rows = done + len(rows)
        job.stepped_at = stamp = utcnow()
        db.session.commit()  # the batch and how far the job got, together
    job.status, job.finished_at = DONE, utcnow()
    job.preview = "{}"
    audit.record("roster.done", job, after=counts_of(job))
    db.session.commit()
    try:  # a county's registry usually starts as one roster import
        refresh_statistics()
        db.session.commit()
    except OperationalError:
        # Best effort: the rows are in and the job is done whatever the planner knows.
        db.session.rollback()
        current_app.logger.warning("could not refresh the planner's statistics after an import")
    _file(job).unlink(missing_ok=True)  # the upload is gone once the rows are in
    return job


def counts_of(job: RosterImport) -> dict:
    return {
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "refused": job.refused_count,
    }


def error_export(job: RosterImport) -> exports.Export:
    """The refused rows as sent, plus a 错误 column: fixed, the file goes straight back in."""
    headings = headings_of(job)
    columns = [exports.Column(h or f"第 {i + 1} 列", 14) for i, h in enumerate(headings)]
    columns.append(exports.Column(ERRORS_HEADING, 60))
    width = len(headings)

    def rows():
        for refused in json.loads(job.refused):
            cells = [fields.text(cell) for cell in refused["cells"][:width]]
            cells += [""] * (width - len(cells))
            yield [*cells, f"原第 {refused['row']} 行：{refused['reasons']}"]

    return exports.Export("roster-errors", "导入出错的行", columns, rows())


def purge_old() -> None:
    """Uploads nobody confirmed go after PREVIEW_KEEP_DAYS; after KEEP_DAYS every import
    keeps only its counts (refused rows are personal data; an unfinished one expires)."""
    now = utcnow()
    stale = db.session.scalars(
        select(RosterImport).where(
            or_(
                and_(
                    RosterImport.status == PREVIEWED,
                    RosterImport.created_at < now - timedelta(days=PREVIEW_KEEP_DAYS),
                ),
                and_(
                    RosterImport.created_at < now - timedelta(days=KEEP_DAYS),
                    or_(
                        RosterImport.refused != "[]", RosterImport.status.not_in((DONE, CANCELLED))
                    ),
                ),
            )
        )
    )
    for job in stale:
        if job.status == PREVIEWED:
            _drop(job, CANCELLED)
        elif job.status in (DONE, CANCELLED):
            job.refused, job.preview = "[]", "{}"
        else:
            _drop(job, FAILED)
            job.error = "已过期：请重新上传"


# --- writing rows (shared with `flask members import`) ---------------------------------------


def create_villages(new_villages: list, importer: Importer) -> list[OrgUnit]:
    """The village branches a roster names that the org tree lacks, under their townships,
    by the org tree's own rules; one that can't be made leaves its rows refused."""
    created = []
    for township_id, _township_name, name, _rows in new_villages:
        if importer.township_id is not None and township_id != importer.township_id:
            continue
        township = db.session.get(OrgUnit, township_id)
        try:
            with db.session.begin_nested():
                created.append(branches.add_unit(township, VILLAGE, {"name": name}))
        except RuleViolation:
            continue  # made meanwhile, or not a name the tree takes
    return created


def apply_batch(
    rows, mapping, importer: Importer, today: date, seen: dict, was: dict | None,
    attempts: int = 3,
) -> tuple[dict, list[RowCheck]]:  # fmt: skip
    """Check one batch again and write it.

    was: for each row chosen for update, the registered values the preview showed
    (None: update every changed row, as `flask members import --update` does). Retried
    when another import wrote the same ID between the check and the insert.
    """
    for attempt in range(attempts):
        seen_before = dict(seen)
        checks = checking.parse_rows(rows, mapping, today, seen)  # before the lock
        try:
            with db.session.begin_nested():
                checking.settle(checks, mapping, checking.OrgIndex(), importer.township_id)
                return _write(checks, was)
        except IntegrityError:
            seen.clear()
            seen.update(seen_before)
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _write(checks, was: dict | None):
    counts = {NEW: 0, CHANGED: 0, UNCHANGED: 0}
    refused: list[RowCheck] = []
    created: list[Member] = []
    for check in checks:
        if check.outcome != REFUSED and check.new_village:
            # Still not in the org tree: it was not chosen to be created (or not allowed).
            check.refuse("所在党支部", check.new_village, NO_VILLAGE.format(name=check.new_village))
        if check.outcome == REFUSED:
            refused.append(check)
        elif check.outcome == NEW:
            created.append(_new_member(check))
            counts[NEW] += 1
        elif check.outcome == CHANGED and (was is None or check.row in was):
            updated = _update_member(check, None if was is None else was[check.row])
            counts[CHANGED if updated else UNCHANGED] += 1
        else:
            counts[UNCHANGED] += 1
    db.session.add_all(created)
    db.session.flush()
    audit.insert_all(
        audit.record(
            "member.create", member, after=audit.snapshot(member, AUDITED) | {"source": "roster"}
        )
        for member in created
    )
    return counts, refused


def _new_member(check: RowCheck) -> Member:
    data = check.data
    member = Member(
        village_id=check.village_id, township_id=check.township_id, status=ACTIVE,
        id_tail=data["id_number"][-4:], birth_date=id_birth_date(data["id_number"]),
        gender=id_gender(data["id_number"]), ethnicity="", membership="full",
        has_certificate=False,
    )  # fmt: skip
    for name, value in data.items():
        setattr(member, name, value)
    return member


def _update_member(check: RowCheck, was: dict | None) -> bool:
    """Apply the row's differences; with `was`, only those the importer saw and chose,
    and only where the registry still holds what it held then. True if anything changed."""
    member = db.session.get(Member, check.member_id)
    wanted = {
        name: new
        for name, (old, new) in check.diff.items()
        if was is None or (name in was and was[name] == _plain(old))
    }
    changed = tuple(name for name in wanted if name != "village_id")
    before = audit.snapshot(member, changed)
    for name in changed:
        setattr(member, name, wanted[name])
    db.session.flush()
    if changed:
        old, new = audit.changes(before, audit.snapshot(member, changed))
        audit.record("member.update", member, before=old, after=new | {"source": "roster"})
    if "village_id" in wanted:
        # A new home branch takes the member's records along, as a bulk move does.
        source = db.session.get(OrgUnit, member.village_id)
        target = db.session.get(OrgUnit, check.village_id)
        branches.relocate(source, branches.movable(source, [member.id]), target, "花名册导入")
    return bool(wanted)
