"""A production start: the county and its townships from the shipped data file, the first admin."""

import csv
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from baojing import audit
from baojing.extensions import db
from baojing.models.meta import AppMeta, is_demo_marked
from baojing.models.org import COUNTY, ONLINE_BRANCH, TOWNSHIP, OrgUnit
from baojing.models.users import COUNTY_ADMIN, User
from baojing.services import accounts

TOWNSHIPS_CSV = Path(__file__).resolve().parent.parent / "data" / "baojing-townships.csv"
COUNTY_NAME = "保靖县"
COUNTY_CODE = "433125"


class DemoDatabase(Exception):
    """The database was filled by `flask demo load`; a real county must not start on it."""


@dataclass
class SetupResult:
    county_created: bool = False
    townships_created: list[str] = field(default_factory=list)
    online_branches_created: list[str] = field(default_factory=list)
    admin: User | None = None
    admin_password: str | None = None
    existing_admins: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.county_created
            or self.townships_created
            or self.online_branches_created
            or self.admin
        )


def township_rows(path: Path = TOWNSHIPS_CSV) -> list[dict]:
    """The 12 townships with their statistical codes (2022), in the file's order."""
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def is_demo_database(session) -> bool:
    """Marked by `flask demo load`, or holding any of its accounts."""
    demo_users = session.scalar(select(func.count()).select_from(User).where(User.is_demo))
    return is_demo_marked(session) or bool(demo_users)


def run(admin_username: str) -> SetupResult:
    """Create whatever of the county's start is missing; on a second run nothing is."""
    if is_demo_database(db.session):
        raise DemoDatabase("这是演示数据库（flask demo load 生成），不能在其上初始化生产系统")
    result = SetupResult()
    county = db.session.scalar(select(OrgUnit).where(OrgUnit.kind == COUNTY))
    if county is None:
        county = OrgUnit(kind=COUNTY, name=COUNTY_NAME, code=COUNTY_CODE)
        db.session.add(county)
        db.session.flush()
        result.county_created = True
    _townships(county, result)
    result.existing_admins = list(
        db.session.scalars(select(User.username).where(User.role == COUNTY_ADMIN).order_by(User.id))
    )
    if not result.existing_admins:
        result.admin, result.admin_password = accounts.create_user(
            {"username": admin_username, "display_name": "县委组织部管理员", "role": COUNTY_ADMIN}
        )
    if result.changed:
        db.session.merge(AppMeta(key="setup", value="1"))
        audit.record(
            "setup.run",
            entity_type="org_units",
            after={
                "county": result.county_created,
                "townships": len(result.townships_created),
                "online_branches": len(result.online_branches_created),
                "admin": result.admin.username if result.admin else None,
            },
            username="cli",
        )
    db.session.flush()
    return result


def _townships(county: OrgUnit, result: SetupResult) -> None:
    """Each township (by code) and its 网络党支部, where missing."""
    existing = {
        unit.code: unit
        for unit in db.session.scalars(select(OrgUnit).where(OrgUnit.kind == TOWNSHIP))
    }
    # Closed ones count too: a branch the county closed is not for setup to bring back.
    branches = set(
        db.session.scalars(select(OrgUnit.township_id).where(OrgUnit.kind == ONLINE_BRANCH))
    )
    for row in township_rows():
        township = existing.get(row["code"])
        if township is None:
            township = OrgUnit(
                kind=TOWNSHIP, name=row["name"], code=row["code"], parent_id=county.id
            )
            db.session.add(township)
            db.session.flush()
            township.township_id = township.id
            result.townships_created.append(township.name)
        if township.id not in branches:
            # Every township runs one online branch (功能化支部); its secretary is the
            # township's 组织委员, named later in the org tree.
            name = f"{township.name}网络党支部"
            db.session.add(
                OrgUnit(
                    kind=ONLINE_BRANCH, name=name, parent_id=township.id,
                    township_id=township.id,
                )
            )  # fmt: skip
            result.online_branches_created.append(name)
    db.session.flush()
