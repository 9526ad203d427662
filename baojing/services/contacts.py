"""The public contact list: each open branch and organisation with its published number.

公布基层党组织负责人联系方式: a migrant far from home finds whom to call. Only what the
contact person chose to publish leaves the database; their other number never does.
"""

from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import case, or_, select
from sqlalchemy.orm import aliased

from baojing.extensions import db
from baojing.models.org import MOBILE_ORG, ONLINE_BRANCH, TOWNSHIP, VILLAGE, OrgUnit
from baojing.services.paging import Page, fetch_page

PER_PAGE = 50
# Within a township: its online branch, then its organisations at destinations, then
# its villages (the order of the org tree page).
LISTED_KINDS = (ONLINE_BRANCH, MOBILE_ORG, VILLAGE)
_KIND_ORDER = case({kind: n for n, kind in enumerate(LISTED_KINDS)}, value=OrgUnit.kind)

# OrgUnit.branch_name and the published number, in SQL: the number a person did not
# choose to publish is never selected, so no template can leak it.
_UNIT_NAME = case((OrgUnit.kind == VILLAGE, OrgUnit.name + "党支部"), else_=OrgUnit.name)
_PUBLISHED_PHONE = case(
    (OrgUnit.publish_phone == "mobile", OrgUnit.contact_mobile),
    (OrgUnit.publish_phone == "office", OrgUnit.contact_office),
    else_="",
)

_Township = aliased(OrgUnit, name="township")


@dataclass(frozen=True)
class TownshipGroup:
    name: str
    units: list


def _contains(column, q: str):
    # LIKE with the text's own % and _ escaped: a literal substring test on both engines.
    return column.contains(q, autoescape=True)


def directory(*, q: str, township_id: int | None, page: int) -> tuple[Page, list[TownshipGroup]]:
    """One page of open units in township code order, grouped by township; one statement."""
    stmt = (
        select(
            OrgUnit.id,
            OrgUnit.kind,
            _UNIT_NAME.label("unit_name"),
            OrgUnit.location,
            OrgUnit.host_org,
            OrgUnit.contact_name,
            OrgUnit.contact_title,
            _PUBLISHED_PHONE.label("phone"),
            _Township.id.label("township_id"),
            _Township.name.label("township_name"),
        )
        # The join and the filters match the partial index on open units
        # (township_id, kind, name WHERE closed_at IS NULL).
        .join(_Township, _Township.id == OrgUnit.township_id)
        .where(
            _Township.kind == TOWNSHIP,
            OrgUnit.kind.in_(LISTED_KINDS),
            OrgUnit.closed_at.is_(None),
        )
        .order_by(_Township.code, _Township.id, _KIND_ORDER, OrgUnit.name, OrgUnit.id)
    )
    if township_id is not None:
        stmt = stmt.where(OrgUnit.township_id == township_id)
    if q:
        matches = or_(
            _contains(_UNIT_NAME, q), _contains(OrgUnit.contact_name, q),
            _contains(OrgUnit.location, q),
        )  # fmt: skip
        stmt = stmt.where(matches)
    result = fetch_page(stmt, page, PER_PAGE)
    groups = [
        TownshipGroup(name, list(units))
        for (_id, name), units in groupby(
            result.rows, key=lambda row: (row.township_id, row.township_name)
        )
    ]
    return result, groups


def townships() -> list[tuple[int, str]]:
    """Open townships in code order, for the township select."""
    stmt = (
        select(OrgUnit.id, OrgUnit.name)
        .where(OrgUnit.kind == TOWNSHIP, OrgUnit.closed_at.is_(None))
        .order_by(OrgUnit.code, OrgUnit.id)
    )
    return [tuple(row) for row in db.session.connection().execute(stmt)]
