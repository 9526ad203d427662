"""Benchmark the member registry pages against a bare-Flask floor.

    .venv/bin/python bench/members.py [--members 20000] [--duration 10]
    tools/with-postgresql .venv/bin/python bench/members.py --engine postgresql

Builds a fresh demo database (`flask db upgrade`, `flask demo load`): SQLite in a temp
directory, or with --engine postgresql a database made for the run on the server of
BAOJING_TEST_POSTGRESQL (dropped at the end). Serves the app and bench/floor_app.py with the project's gunicorn config (2 sync workers,
access log off), logs in as `secretary` and `township`, then runs wrk alternately against
the floor and each page. A page's ratio is its req/s over the mean of the two floor runs
next to it. Prints a markdown table and writes bench/out/members.json (members-postgresql.json
on PostgreSQL). See bench/README.md.
"""

import argparse
import os
import re
import sys
import urllib.parse
from pathlib import Path

from common import (
    REPO,
    BenchError,
    add_load_options,
    add_output_options,
    add_recycle_option,
    analyze,
    bench_env,
    check_engine,
    db_rows,
    db_scalar,
    db_size,
    fetch,
    load_config,
    load_demo,
    login,
    measure_alternating,
    open_database,
    page_results,
    per_second,
    print_run_quality,
    print_wal,
    render_table,
    report_head,
    run_bench,
    run_wrk,
    sessions_still_good,
    start_app_and_floor,
    start_run,
    stop_servers,
    targets_met,
    wal_bytes,
    write_report,
)

OUT = REPO / "bench" / "out" / "members.json"
SURNAME = "刘"

# Issue 14: every full page ≥ 0.25 of the floor, every htmx fragment ≥ 0.30.
TARGETS = {"page": 0.25, "fragment": 0.30}

# Sums per-thread counts of non-200 responses: wrk's own "Non-2xx or 3xx" count misses
# redirects, and a 302 to /login would otherwise pass for a very fast page.
WRK_LUA = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  bad_status = 0
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    bad_status = status
  end
end

function done(summary, latency, requests)
  local bad, last = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non200")
    local s = t:get("bad_status")
    if s ~= 0 then last = s end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "mean_us": %.1f, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "non200": %d, '
    .. '"last_bad_status": %d, "err_connect": %d, "err_read": %d, "err_write": %d, '
    .. '"err_status": %d, "err_timeout": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency.mean,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(90)),
    math.floor(latency:percentile(99)), math.floor(latency.max), bad, last,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def measure_get_pages(args, tmp: Path, app_port: int, floor_port: int, pages: list[dict]):
    """Warm up, then floor, page 1, floor, page 2, … floor: GETs with each page's headers.

    The shape every GET bench shares (members, care, mentors); returns what
    common.measure_alternating returns.
    """
    lua = tmp / "bench.lua"
    lua.write_text(WRK_LUA)
    if args.warmup > 0:
        print(f"warm-up: {args.warmup:g}s per URL", flush=True)
        wrk(args, lua, floor_port, "/", {}, args.warmup)
        for page in pages:
            wrk(args, lua, app_port, page["path"], page["headers"], args.warmup)
    return measure_alternating(
        args,
        pages,
        lambda duration: wrk(args, lua, floor_port, "/", {}, duration),
        lambda page, duration: wrk(args, lua, app_port, page["path"], page["headers"], duration),
    )


def wrk(args, lua: Path, port: int, path: str, headers: dict, duration: int) -> dict:
    r, stdout = run_wrk(args, lua, port, path, duration, headers=headers)
    non2xx3xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", stdout)
    r["wrk_non_2xx_3xx"] = int(non2xx3xx.group(1)) if non2xx3xx else 0
    r["rps"] = per_second(r)
    if r["non200"] or r["wrk_non_2xx_3xx"]:
        raise BenchError(
            f"{path}: {r['non200']} non-200 responses (last status {r['last_bad_status']}), "
            f"wrk 'Non-2xx or 3xx' = {r['wrk_non_2xx_3xx']} — the numbers would be fake"
        )
    return r


# --- the bench -------------------------------------------------------------------------


def verify_page(port: int, page: dict) -> dict:
    """Fetch once without following redirects; the page must be a real 200 of the right kind."""
    status, headers, body = fetch(port, page["path"], page["headers"])
    text = body.decode(errors="replace")
    if status != 200:
        raise BenchError(f"{page['label']}: HTTP {status} (Location: {headers.get('Location')})")
    is_fragment = "<html" not in text.lower()
    if is_fragment != page["fragment"]:
        raise BenchError(f"{page['label']}: expected fragment={page['fragment']}, got the other")
    if page["path"].startswith("/members/?") or page["path"] == "/members/":
        if "共 " not in text and "超过 " not in text:
            raise BenchError(f"{page['label']}: no result count in the response")
    # An exact count, or the "more than" of a list past services/members.COUNT_UP_TO.
    total = re.search(r"(?:共|超过) (\d+) 人", text)
    return {"bytes": len(body), "total_rows": int(total.group(1)) if total else None}


def _page(label: str, path: str, headers: dict) -> dict:
    """A page as measure_get_pages wants it; an htmx request is a fragment."""
    is_fragment = headers.get("HX-Request") == "true"
    return {"label": label, "kind": "fragment" if is_fragment else "page", "path": path,
            "headers": headers, "fragment": is_fragment}  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_options(parser)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    add_recycle_option(parser)
    add_output_options(parser, OUT, per_engine=True)
    args = parser.parse_args(argv)
    check_engine(parser, args, OUT)
    return run_bench(args, run, "baojing-bench-", passed="all_pass")


def run(args, tmp: Path) -> dict:
    db = open_database(args, tmp)
    started, machine = start_run(args, db)
    env = bench_env(db)

    load_demo(env, args.members)
    analyze(db)
    wal_after_load, db_bytes = db_size(db)

    app_port, floor_port = start_app_and_floor(args, env, tmp)

    sec_cookie = login(app_port, "secretary")
    town_cookie = login(app_port, "township")
    clerk_cookie = login(app_port, "clerk")
    village = db_scalar(db, "SELECT org_unit_id FROM users WHERE username = 'secretary'")
    # The member of the secretary's village with the longest history: points, care cases
    # and certificates (the profile lists all three).
    long_history = db_scalar(
        db,
        "SELECT m.id FROM members m WHERE m.village_id = :village AND m.status = 'active' ORDER BY "
        "(SELECT count(*) FROM point_entries p WHERE p.member_id = m.id)"
        " + (SELECT count(*) FROM care_cases c WHERE c.member_id = m.id)"
        " + (SELECT count(*) FROM certificates c WHERE c.member_id = m.id) DESC, m.id LIMIT 1",
        village=village,
    )
    phone, id_tail = db_rows(
        db,
        "SELECT phone, id_tail FROM members WHERE village_id = :village AND status = 'active' "
        "ORDER BY id LIMIT 1 OFFSET 3",
        village=village,
    )[0]
    sec, town, clerk = {"Cookie": sec_cookie}, {"Cookie": town_cookie}, {"Cookie": clerk_cookie}
    fragment = {"HX-Request": "true"}
    pages = [
        _page("member list (secretary)", "/members/", sec),
        _page(f"search by name q={SURNAME} (secretary)", f"/members/?q={urllib.parse.quote(SURNAME)}",
              sec | fragment),
        _page(f"search by phone prefix q={phone[:5]} (secretary)", f"/members/?q={phone[:5]}",
              sec | fragment),
        _page(f"search by ID tail q={id_tail} (secretary)", f"/members/?q={id_tail}", sec | fragment),
        _page(f"profile, longest history /members/{long_history} (secretary)",
              f"/members/{long_history}", sec),
        _page("member list (township)", "/members/", town),
        _page(f"counter opened on a member /store/counter?member={long_history} (clerk)",
              f"/store/counter?member={long_history}", clerk),
    ]  # fmt: skip
    for page in pages:
        page.update(verify_page(app_port, page))
        print(f"  ok  {page['label']}: {page['bytes']} B, rows={page['total_rows']}")

    # floor, A, floor, B, floor, C, floor, D, floor
    floors, runs, measured = measure_get_pages(args, tmp, app_port, floor_port, pages)

    sessions_still_good(app_port, "/members/", (sec_cookie, town_cookie))
    sessions_still_good(app_port, "/store/counter", (clerk_cookie,))

    wal_during = wal_bytes(db)
    stop_servers()
    wal_after = wal_bytes(db)
    plans = explain_lists(db, [("secretary", ""), ("secretary", SURNAME), ("secretary", phone[:5]),
                               ("secretary", id_tail), ("township", "")])  # fmt: skip

    results = page_results(
        pages, measured, floors, TARGETS, keep=("fragment", "bytes", "total_rows")
    )
    all_pass = targets_met(results)

    table = render_table(results, f"page ({db.label})")
    print()
    print(table)
    print()
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, gunicorn {args.workers} "
        f"sync workers, {args.members} members ({db.label} DB {db_bytes / 1024 / 1024:.1f} MiB), "
        f"nproc={machine['nproc']}"
    )
    floor_cv = print_run_quality(runs, floors, machine)
    print_wal(wal_after_load, wal_during, wal_after, db.engine)
    print_plans(plans)
    print("result:", "all pages meet their targets" if all_pass else "SOME PAGES MISS THEIR TARGET")

    report = {
        **report_head(started, machine),
        "config": {
            "engine": db.engine,
            "members": args.members,
            **load_config(args),
            "db_bytes": db_bytes,
            "surname": SURNAME,
            "profile_member_id": int(long_history),
        },
        "results": results,
        "runs": runs,
        "floor_cv": floor_cv,
        "loadavg_after": os.getloadavg(),
        "wal_bytes_after_load": wal_after_load,
        "wal_bytes_end_of_run": wal_during,
        "wal_bytes_after_stop": wal_after,
        "all_pass": all_pass,
        "table": table,
        "plans": plans,
    }
    write_report(args.out, report)
    return report


def explain_lists(db, lists: list[tuple[str, str]]) -> list[dict]:
    """The plan of every statement the member list sends for each (user, search), on the
    bench's own engine (servers stopped): what shows whether a page reads only the rows
    it shows or walks its whole scope. SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN."""
    from sqlalchemy import event, select

    from baojing import create_app
    from baojing.extensions import db as app_db
    from baojing.models.users import User
    from baojing.services import members as svc

    app = create_app({"SQLALCHEMY_DATABASE_URI": db.uri, "SECRET_KEY": "bench-explain"})
    explain = "EXPLAIN QUERY PLAN " if db.engine == "sqlite" else "EXPLAIN "
    out = []
    with app.app_context():
        for username, q in lists:
            user = app_db.session.scalar(select(User).where(User.username == username))
            sent: list[tuple[str, object]] = []

            def record(_conn, _cursor, statement, parameters, _context, _many, into=sent):
                into.append((statement, parameters))

            event.listen(app_db.engine, "before_cursor_execute", record)
            try:
                svc.list_members(user, q=q, cutoffs=svc.AlertCutoffs.today(), per_page=20)
            finally:
                event.remove(app_db.engine, "before_cursor_execute", record)
            app_db.session.rollback()
            raw = app_db.engine.raw_connection()
            try:
                cur = raw.cursor()
                for sql, params in sent:
                    if not sql.lstrip().upper().startswith("SELECT"):
                        continue  # BEGIN
                    cur.execute(explain + sql, params)
                    rows = cur.fetchall()
                    plan = [r[3] if db.engine == "sqlite" else r[0] for r in rows]
                    out.append({"user": username, "q": q, "sql": " ".join(sql.split())[:160],
                                "plan": plan})  # fmt: skip
            finally:
                raw.close()
        app_db.engine.dispose()
    return out


def print_plans(plans: list[dict]) -> None:
    print("plans of the member list's statements (servers stopped):")
    for p in plans:
        print(f"  {p['user']} q={p['q']!r}: {p['sql'][:100]} …")
        for line in p["plan"]:
            print(f"       {line}")


if __name__ == "__main__":
    sys.exit(main())
