"""Facts about this instance itself, such as whether it holds demo data."""

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from baojing.extensions import db


class AppMeta(db.Model):
    __tablename__ = "app_meta"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


def is_demo_marked(session) -> bool:
    """Whether `flask demo load` filled this database (it marks it so)."""
    return session.scalar(select(AppMeta.value).where(AppMeta.key == "demo")) == "1"
