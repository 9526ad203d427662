"""Turning list rows into what a row on the phone shows: plain text, escaped by Jinja."""

from itertools import product
from operator import attrgetter
from typing import NamedTuple

from markupsafe import Markup

from baojing.services.members import ALERT_LABELS


class ListRow(NamedTuple):
    id: int
    name: str
    phone: str
    badges: Markup  # the row's alert badges, ready to print
    meta: str


_BADGE = Markup('<span class="badge {}">{}</span>')
# The badges of a row for each combination of its three alert flags, made once: a
# row prints one prepared string instead of looping over its badges.
_BADGES = {
    flags: Markup("").join(
        _BADGE.format(code, label)
        for (code, label), on in zip(ALERT_LABELS.items(), flags, strict=True)
        if on
    )
    for flags in product((0, 1), repeat=len(ALERT_LABELS))
}
_alert_flags = attrgetter(*ALERT_LABELS)  # a row's flags, in ALERT_LABELS order


def list_rows(rows, *, show_village: bool) -> list[ListRow]:
    """One ListRow per member row; the second line is joined here, once, in Python.

    Twenty rows with a dozen conditionals each made the template the slowest part
    of the search fragment; the template now prints four values per row.
    """
    out = []
    for m in rows:
        parts = [m.village_name] if show_village else []
        if m.dest_province:
            parts.append(m.dest_province + m.dest_city)
        if m.trade:
            parts.append(m.trade)
        parts.append(f"联络人 {m.liaison_name or '无'}")
        parts.append(f"上门登记 {m.last_verified_on}" if m.last_verified_on else "从未上门登记")
        badges = _BADGES[_alert_flags(m)]
        out.append(ListRow(m.id, m.name, m.phone_masked, badges, " · ".join(parts)))
    return out
