"""A roster import: one uploaded spreadsheet on its way from preview to the registry."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baojing.extensions import db
from baojing.models.types import UTCDateTime, utcnow

# previewed → queued → running → done; failed or stalled runs resume; cancelled ends it.
PREVIEWED = "previewed"
QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"
STATUS_LABELS = {
    PREVIEWED: "待确认",
    QUEUED: "排队中",
    RUNNING: "导入中",
    DONE: "已完成",
    FAILED: "中断",
    CANCELLED: "已取消",
}


class RosterImport(db.Model):
    """The uploaded file lives under UPLOAD_FOLDER/roster/<token> until the import ends;
    what the page needs afterwards (counts, the refused rows) is kept here."""

    __tablename__ = "roster_imports"
    __table_args__ = (Index("ix_roster_imports_user", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The importer's scope when they uploaded (a township officer's township; NULL: county).
    township_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    filename: Mapped[str] = mapped_column(String(120))
    file_token: Mapped[str] = mapped_column(String(40), unique=True)
    file_kind: Mapped[str] = mapped_column(String(4))  # xlsx | xls
    file_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default=PREVIEWED)
    # JSON: {column index: field name} chosen in the mapping step, over the guesses.
    mapping: Mapped[str] = mapped_column(Text, default="{}")
    create_villages: Mapped[bool] = mapped_column(default=False)
    # JSON list of sheet row numbers whose changes the importer chose to apply.
    update_rows: Mapped[str] = mapped_column(Text, default="[]")
    total_rows: Mapped[int] = mapped_column(default=0)
    # Rows handled so far, in sheet order: a resumed import starts after them.
    done_rows: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    refused_count: Mapped[int] = mapped_column(default=0)
    # JSON: the refused rows with their original cells and reasons, for the error file.
    refused: Mapped[str] = mapped_column(Text, default="[]")
    # JSON: the heading row as read, the error file's first columns.
    headings: Mapped[str] = mapped_column(Text, default="[]")
    # JSON: what the preview found (counts, changed rows with their diffs, villages to create).
    preview: Mapped[str] = mapped_column(Text, default="{}")
    error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Stamped by every batch: a running import with no stamp for a while lost its worker.
    stepped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)
