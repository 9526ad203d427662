"""Property: however imports overlap, no ID number is ever registered twice.

Each example plans several roster files drawn from one small pool of ID numbers (so
they overlap), previews them all first (each believes its rows are new), then runs
their batches interleaved in an order Hypothesis chooses, as several importers
working at once would. Every ID in any file ends up registered exactly once, and
every row is accounted for as created, unchanged or refused.
"""

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from baojing.extensions import db
from baojing.models import Member
from baojing.services.roster import checking, fields, jobs, reading
from tests.factories import resident_id
from tests.roster_files import HEADINGS, member_row

POOL = 8


def _sheet(rows: list[dict]) -> reading.Sheet:
    sheet = reading.Sheet(name="花名册", headings=list(HEADINGS))
    for number, row in enumerate(rows, start=3):
        sheet.rows.append((number, [row.get(h, "") for h in HEADINGS]))
    return sheet


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    files=st.lists(
        st.lists(st.integers(0, POOL - 1), min_size=1, max_size=7), min_size=2, max_size=4
    ),
    order=st.lists(st.integers(0, 3), min_size=30, max_size=30),
    batch=st.integers(1, 3),
)
def test_overlapping_imports_never_register_an_id_twice(app, org, files, order, batch):
    pool = [resident_id(date(1980, 1, 1)) for _ in range(POOL)]
    importer = jobs.Importer(None, None)
    today = date(2026, 12, 7)
    sheets = [
        _sheet([member_row("踏梯村", 姓名=f"池{i}", 身份证号=pool[i]) for i in picks])
        for picks in files
    ]
    mapping = fields.guess_mapping(list(HEADINGS))
    for sheet in sheets:  # every file previewed before any goes in: all rows look new
        plan = jobs.plan(sheet, mapping, importer, today)
        assert not plan.missing
    db.session.rollback()
    position = [0] * len(sheets)
    seen = [{} for _ in sheets]
    totals = {checking.NEW: 0, checking.CHANGED: 0, checking.UNCHANGED: 0}
    refused = 0

    def step(n: int) -> None:
        nonlocal refused
        rows = sheets[n].rows[position[n] : position[n] + batch]
        counts, refusals = jobs.apply_batch(rows, mapping, importer, today, seen[n], {})
        db.session.commit()
        position[n] += len(rows)
        for key in totals:
            totals[key] += counts[key]
        refused += len(refusals)

    for pick in order:
        n = pick % len(sheets)
        if position[n] < len(sheets[n].rows):
            step(n)
    for n in range(len(sheets)):
        while position[n] < len(sheets[n].rows):
            step(n)

    wanted = {pool[i] for picks in files for i in picks}
    registered = db.session.execute(
        select(Member.id_number, func.count())
        .where(Member.id_number.in_(pool))
        .group_by(Member.id_number)
    ).all()
    assert {number for number, _ in registered} == wanted
    assert all(count == 1 for _, count in registered)
    assert totals[checking.NEW] == len(wanted)
    rows = sum(len(picks) for picks in files)
    # A number twice in one file refuses the second; across files it is "unchanged".
    in_file_repeats = sum(len(picks) - len(set(picks)) for picks in files)
    assert refused == in_file_repeats
    assert totals[checking.NEW] + totals[checking.UNCHANGED] + refused == rows
