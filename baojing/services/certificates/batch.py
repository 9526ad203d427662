"""Batch renewal: every activity card due in a township renewed and printed as one PDF.

Five hundred cards take tens of seconds, longer than a request may. The request
only records a print job; a background thread in the same worker renews the cards
one short transaction at a time (the counter never waits long for the write
lock), at a lower CPU priority, then lays the new cards out ten to an A4 sheet.
The page polls the job's progress. Each step stamps the job (finished_at: when
the last step finished), so a job with no step for STALL_MINUTES lost its worker
(a restart, a crash); its page then offers 继续, which picks it up from where it
stopped: cards already renewed are not renewed twice.
"""

import os
import secrets
import threading
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app, g
from sqlalchemy import and_, func, or_, select, update

from baojing import audit, files
from baojing.dates import local_today
from baojing.db import kept_if_committed, writing
from baojing.extensions import db
from baojing.models.certificates import VALID, Certificate, PrintJob
from baojing.models.members import Member
from baojing.models.types import utcnow
from baojing.models.users import User
from baojing.services import RuleViolation
from baojing.services.certificates import issue, listing, pdf

CARDS_PER_DOCUMENT = 50  # laid out in chunks: progress to show, bounded memory per render
MAX_CARDS = 1000
# A step (one card, or fifty laid out) takes seconds; this long without one, the worker is gone.
STALL_MINUTES = 5


def folder() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"]) / "batches"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start(user: User, township_id: int | None, title: str) -> PrintJob:
    """Record a job for the cards due in the user's scope (optionally one township)."""
    due = listing.due_for_renewal(user, local_today(), limit=MAX_CARDS, township_id=township_id)
    if not due:
        raise RuleViolation({"township_id": "没有需要换发的活动证"})
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
    """Do (or finish) a job: renew each card still due, then lay out the new cards."""
    with writing():
        job = db.session.get(PrintJob, job_id)
        actor = db.session.get(User, user_id)
        job.status, job.finished_at = "running", utcnow()
        db.session.commit()
        ids = [int(i) for i in job.certificate_ids.split(",")]
        new_cards = []
        for number, cert_id in enumerate(ids, 1):
            old = db.session.get(Certificate, cert_id)
            renewed = db.session.scalar(
                select(Certificate).where(Certificate.renewed_from_id == cert_id)
            )
            if renewed is None and old.status == VALID:
                until = issue.default_valid_until("card", local_today())
                renewed = issue.renew(old, actor, until, request_id=f"job{job_id}-{cert_id}")
            if renewed is not None:
                new_cards.append(renewed.id)
            job.done_count, job.finished_at = number, utcnow()
            db.session.commit()  # one short write transaction per card
        cards = card_contexts(new_cards)
        db.session.commit()
        documents = []
        for start_at in range(0, len(cards), CARDS_PER_DOCUMENT):
            chunk = cards[start_at : start_at + CARDS_PER_DOCUMENT]
            documents.append(pdf.render_document("certificates/pdf/cards.html", cards=chunk))
            job.done_count = min(job.total, job.done_count + 1)
            job.finished_at = utcnow()
            db.session.commit()
        token = secrets.token_hex(16)
        data = pdf.combine(documents)
        files.write_new(folder() / f"{token}.pdf", data)
        kept_if_committed(folder() / f"{token}.pdf")
        job.file_token, job.status, job.finished_at = token, "done", utcnow()
        job.done_count = job.total
        db.session.commit()
        return job


def card_contexts(cert_ids: list[int]) -> list[dict]:
    """The layout context of each card, in id order; each card with its member, one query."""
    rows = db.session.execute(
        select(Certificate, Member)
        .join(Member, Member.id == Certificate.member_id)
        .where(Certificate.id.in_(cert_ids))
        .order_by(Certificate.id)
    )
    return [issue.card_context(cert, member) for cert, member in rows]
