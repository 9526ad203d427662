"""Batch 年审: every activity card due in a township checked on the same card, and a
register of them printed as one PDF.

A card is open-ended with a yearly check (checks.py): the batch records the check on
each card (same serial, same paper) and prints the 年审登记表 to stamp the cards by.
Five hundred cards take a while, longer than a request may. The request only records
a print job; a background thread in the same worker records the checks one short
transaction at a time (the counter never waits long for the write lock), at a lower
CPU priority, then lays the register out.
The page polls the job's progress. Each step stamps the job (finished_at: when
the last step finished), so a job with no step for STALL_MINUTES lost its worker
(a restart, a crash); its page then offers 继续, which picks it up from where it
stopped: a card already checked by the job is not checked twice.
"""

import os
import secrets
import threading
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app, g
from sqlalchemy import and_, func, or_, select, update

from baojing import audit, files
from baojing.dates import SHANGHAI, local_today
from baojing.db import kept_if_committed, writing
from baojing.extensions import db
from baojing.models.certificates import VALID, CardCheck, Certificate, PrintJob
from baojing.models.members import Member
from baojing.models.org import OrgUnit
from baojing.models.types import utcnow
from baojing.models.users import User
from baojing.services import RuleViolation
from baojing.services.certificates import checks, listing, pdf
from baojing.services.idempotency import replayed

CARDS_PER_DOCUMENT = 50  # register lines laid out in chunks: progress to show, bounded memory
MAX_CARDS = 1000
# A step (one card, or fifty laid out) takes seconds; this long without one, the worker is gone.
STALL_MINUTES = 5


def folder() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "batches"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start(user: User, township_id: int | None, title: str) -> PrintJob:
    """Record a job for the cards due in the user's scope (optionally one township)."""
    due = listing.due_for_check(user, local_today(), limit=MAX_CARDS, township_id=township_id)
    if not due:
        raise RuleViolation({"township_id": "没有需要年审的活动证"})
    job = PrintJob(
        township_id=township_id, requested_by_id=user.id, title=title, status="queued",
        total=len(due) + -(-len(due) // CARDS_PER_DOCUMENT),
        certificate_ids=",".join(str(c.id) for c in due),
    )  # fmt: skip
    db.session.add(job)
    db.session.flush()
    audit.record("certificate.batch", job, after={"cards": len(due), "township_id": township_id})
    return job


def _stall_cutoff(now: datetime | None = None) -> datetime:
    minutes = current_app.config.get("PRINT_JOB_STALL_MINUTES", STALL_MINUTES)
    return (now or utcnow()) - timedelta(minutes=minutes)


def stalled(job: PrintJob, now: datetime | None = None) -> bool:
    """Queued or running, but no step for STALL_MINUTES: its worker was cut off."""
    return job.status in ("queued", "running") and (
        job.finished_at or job.created_at
    ) < _stall_cutoff(now)


def resumable(job: PrintJob) -> bool:
    return job.status == "failed" or stalled(job)


def resume(job: PrintJob, user: User) -> PrintJob:
    """Take over a stalled or failed job (the caller then runs it); audited."""
    last_step = func.coalesce(PrintJob.finished_at, PrintJob.created_at)
    # One guarded UPDATE: two clicks on 继续 (or a job that is alive after all) start one run.
    claimed = db.session.execute(
        update(PrintJob)
        .where(
            PrintJob.id == job.id,
            or_(
                PrintJob.status == "failed",
                and_(PrintJob.status.in_(("queued", "running")), last_step < _stall_cutoff()),
            ),
        )
        .values(status="queued", error="", finished_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise RuleViolation({"job": "这个任务正在进行，无需继续"})
    db.session.refresh(job)
    audit.record(
        "certificate.batch_resume", job, after={"done": job.done_count, "total": job.total},
        user=user,
    )  # fmt: skip
    return job


def run_in_background(job_id: int, user_id: int, base_url: str) -> threading.Thread:
    app = current_app._get_current_object()
    thread = threading.Thread(
        target=_run, args=(app, job_id, user_id, base_url), name=f"print-job-{job_id}", daemon=True
    )
    thread.start()
    return thread


def _run(app, job_id: int, user_id: int, base_url: str) -> None:
    try:  # a batch must not slow the counter: lower this thread's CPU priority (Linux)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass
    with app.app_context():
        g.verify_base_url = base_url  # no request here: QR codes point where the job was asked
        try:
            run(job_id, user_id)
        except Exception as exc:  # noqa: BLE001 - the job records any failure for the page
            app.logger.exception("print job %s failed", job_id)
            db.session.rollback()
            with writing():
                job = db.session.get(PrintJob, job_id)
                job.status, job.error = "failed", str(exc)[:200]
                db.session.commit()
        finally:
            db.session.remove()


def run(job_id: int, user_id: int) -> PrintJob:
    """Do (or finish) a job: check each card still valid, then lay out the register."""
    with writing():
        job = db.session.get(PrintJob, job_id)
        actor = db.session.get(User, user_id)
        job.status, job.finished_at = "running", utcnow()
        db.session.commit()
        # The day the job was asked for, whenever it runs: a resumed job records the
        # same check (its key and content), so a card is never checked twice.
        checked_on = job.created_at.astimezone(SHANGHAI).date()
        data = {"checked_on": checked_on, "note": job.title}
        ids = [int(i) for i in job.certificate_ids.split(",")]
        done = []
        for number, cert_id in enumerate(ids, 1):
            cert = db.session.get(Certificate, cert_id)
            key = f"job{job_id}-{cert_id}"
            if cert.status == VALID or replayed(CardCheck, key, data, certificate_id=cert_id):
                done.append(checks.record(cert, actor, data, request_id=key))
            job.done_count, job.finished_at = number, utcnow()
            db.session.commit()  # one short write transaction per card
        rows = register_rows([c.certificate_id for c in done])
        db.session.commit()
        documents = []
        for start_at in range(0, max(len(rows), 1), CARDS_PER_DOCUMENT):
            documents.append(
                pdf.render_document(
                    "certificates/pdf/check_register.html", title=job.title,
                    checked_on=checked_on.isoformat(), total=len(rows), first=start_at + 1,
                    rows=rows[start_at : start_at + CARDS_PER_DOCUMENT],
                )
            )  # fmt: skip
            job.done_count = min(job.total, job.done_count + 1)
            job.finished_at = utcnow()
            db.session.commit()
        token = secrets.token_hex(16)
        data_pdf = pdf.combine(documents)
        files.write_new(folder() / f"{token}.pdf", data_pdf)
        kept_if_committed(folder() / f"{token}.pdf")
        job.file_token, job.status, job.finished_at = token, "done", utcnow()
        job.done_count = job.total
        db.session.commit()
        return job


def register_rows(cert_ids: list[int]) -> list[dict]:
    """One register line per checked card, by village then serial, in one query."""
    rows = db.session.execute(
        select(Certificate.serial, Member.name, OrgUnit.name, Certificate.check_due_on)
        .join(Member, Member.id == Certificate.member_id)
        .join(OrgUnit, OrgUnit.id == Certificate.village_id)
        .where(Certificate.id.in_(cert_ids))
        .order_by(OrgUnit.name, Certificate.serial)
    )
    return [
        {"serial": serial, "name": name, "village": f"{village}党支部", "next_due": due.isoformat()}
        for serial, name, village, due in rows
    ]
