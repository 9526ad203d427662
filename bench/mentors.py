"""Benchmark mentor suggestions for one mentee against a bare-Flask floor.

    .venv/bin/python bench/mentors.py [--members 20000] [--duration 10]

Same set-up as bench/members.py (a fresh SQLite demo database in a temp directory — the
demo makes about one member in 25 a mentor, so 20,000 members give about 800 — the app and
bench/floor_app.py under the project's gunicorn config with 2 sync workers, the access log
off). Logs in as `township` (迁陵镇) and runs wrk alternately against the floor and
`GET /mentors/suggest/<id>/list` with `HX-Request: true` — the htmx fragment the 查找导师
button asks for — for 向光明 (the demo `member` account's member, whose first suggestion is
the demo `mentor`); also the page around it and the same list as a whole page (no htmx),
for information. A page's ratio is its req/s over the mean of the two floor runs next to
it. Once the servers have stopped, prints the EXPLAIN QUERY PLAN of the suggestion
statement (services/mentors/suggestions.py) with the mentee's parameters, flags every full
scan of members or mentor_profiles, times the statement and one whole request in-process,
and — when the fragment misses its target, or with --profile — a cProfile of in-process
requests. Prints a markdown table and writes bench/out/mentors.json. See bench/README.md.
"""

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

from common import (
    REPO,
    SECRET_KEY,
    BenchError,
    add_load_options,
    add_output_options,
    add_recycle_option,
    bench_env,
    csrf_token,
    db_rows,
    db_scalar,
    db_size,
    fetch,
    load_config,
    load_demo,
    login,
    page_results,
    print_run_quality,
    print_wal,
    render_table,
    report_head,
    run_bench,
    sessions_still_good,
    start_app_and_floor,
    start_run,
    stop_servers,
    targets_met,
    wal_bytes,
    write_report,
)

# The same Lua hooks (every non-200 counted, p50/p99 from done()) and the same wrk wrapper
# as the member pages: a GET with a session cookie and the given headers.
from members import measure_get_pages

OUT = REPO / "bench" / "out" / "mentors.json"
TARGETS = {"fragment": 0.25, "page": None, "list_page": None}  # the target: fragment
MENTEE_ACCOUNT = "member"  # the demo account of 向光明 (踏梯村, 迁陵镇)
MENTOR_ACCOUNT = "mentor"  # the demo mentor: same trade and city, another 迁陵镇 village
SCANNED_TABLES = ("members", "mentor_profiles")
TIMING_REPEATS = 200  # in-process: the statement, suggest(), and whole requests
PROFILE_REQUESTS = 300

SUGGESTION = re.compile(r'<input type="hidden" name="mentor_id" value="(\d+)">')
ROW_TITLE = re.compile(r'<p class="row-title">([^<]+?) <span')


# --- the pages -------------------------------------------------------------------------


def verify_page(port: int, page: dict) -> dict:
    """Fetch once without following redirects: a real 200 of the right kind; the lists
    must hold at least one suggestion (an empty list would be a fast, meaningless page)."""
    status, headers, body = fetch(port, page["path"], page["headers"])
    text = body.decode(errors="replace")
    if status != 200:
        raise BenchError(f"{page['label']}: HTTP {status} (Location: {headers.get('Location')})")
    is_fragment = "<html" not in text.lower()
    if is_fragment != (page["kind"] == "fragment"):
        raise BenchError(f"{page['label']}: expected fragment={not is_fragment}, got the other")
    if page["kind"] == "page" and "查找导师" not in text:
        raise BenchError(f"{page['label']}: not the suggestion page:\n{text[:800]}")
    ids = SUGGESTION.findall(text)
    names = ROW_TITLE.findall(text)
    if page["kind"] != "page" and not ids:
        raise BenchError(f"{page['label']}: no suggestion in the answer:\n{text[:800]}")
    return {
        "bytes": len(body),
        "suggestions": len(ids),
        "first_mentor_id": int(ids[0]) if ids else None,
        "first_name": names[0].strip() if names else None,
    }


# --- the statement and one request, outside the server ---------------------------------


def _plan_lines(cur, sql: str, params) -> list[tuple[int, str]]:
    """EXPLAIN QUERY PLAN as (depth, detail), the tree SQLite prints."""
    depth = {0: -1}
    out = []
    for node, parent, _unused, detail in cur.execute(f"EXPLAIN QUERY PLAN {sql}", params):
        depth[node] = depth.get(parent, -1) + 1
        out.append((depth[node], detail))
    return out


def _full_scans(plan: list[tuple[int, str]]) -> list[str]:
    """`SCAN members …` / `SCAN mentor_profiles …` (also through an index: still every row)."""
    hits = []
    for _, detail in plan:
        m = re.match(r"SCAN (\w+)", detail)
        if m and m.group(1) in SCANNED_TABLES:
            hits.append(detail)
    return hits


def _median_ms(fn, repeats: int = TIMING_REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _in_process_app(db_path: Path):
    from baojing import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", "SECRET_KEY": SECRET_KEY})


def _logged_in_client(app, username: str):
    """A test client logged in through the real form (CSRF token and all)."""
    from common import PASSWORD

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(page, "/login")},
    )
    if answer.status_code != 302 or "/login" in answer.headers.get("Location", ""):
        raise BenchError(f"in-process login as {username} failed: HTTP {answer.status_code}")
    return client


def analyse(db_path: Path, mentee_id: int, paths: dict, cprofile: bool) -> dict:
    """The suggestion statement with the mentee's parameters (as suggest() sends it): its
    plan, full scans, rows and time; suggest() as a whole; one whole request through the
    Flask test client (no HTTP, no gunicorn) next to the bare floor app in-process; and, if
    asked, a cProfile of PROFILE_REQUESTS fragment requests. Run with the servers stopped."""
    from sqlalchemy import event

    from baojing.extensions import db
    from baojing.models.members import Member
    from baojing.services.mentors import suggestions

    app = _in_process_app(db_path)
    out: dict = {}
    with app.app_context():
        mentee = db.session.get(Member, mentee_id)
        suggestions.suggest(mentee)  # compile and cache the statement first
        statements: list[tuple[str, tuple]] = []

        def record(_conn, _cursor, statement, parameters, _context, _many):
            statements.append((statement, tuple(parameters or ())))

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            found = suggestions.suggest(mentee)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        if len(statements) != 1:
            raise BenchError(f"suggest() sent {len(statements)} statements, expected 1")
        out["suggest_ms"] = _median_ms(lambda: suggestions.suggest(mentee))
        db.session.rollback()
        sql, params = statements[0]
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            rows = cur.execute(sql, params).fetchall()
            out["sql_ms"] = _median_ms(lambda: cur.execute(sql, params).fetchall())
            plan = _plan_lines(cur, sql, params)
            # How many mentors the four index ranges hand to the ranking (the union).
            trade, city, province, township = (
                mentee.trade or None, mentee.dest_city or None,
                mentee.dest_province or None, mentee.township_id,
            )  # fmt: skip
            candidates = cur.execute(
                "SELECT count(*) FROM mentor_profiles WHERE available AND (trade = ? OR "
                "dest_city = ? OR dest_province = ? OR township_id = ?)",
                (trade, city, province, township),
            ).fetchone()[0]
            # ... and how many match both trade and city (suggest() asks those first).
            close = cur.execute(
                "SELECT count(*) FROM mentor_profiles WHERE available AND trade = ? "
                "AND dest_city = ?",
                (trade, city),
            ).fetchone()[0]
        finally:
            raw.close()
        out.update(
            sql=" ".join(sql.split()),
            params=[str(p) for p in params],
            rows=len(rows),
            candidates=candidates,
            close_candidates=close,
            plan=[f"{'  ' * d}{detail}" for d, detail in plan],
            full_scans=_full_scans(plan),
            first=found[0].name if found else None,
            mentee={
                "id": mentee.id, "name": mentee.name, "trade": mentee.trade,
                "dest_province": mentee.dest_province, "dest_city": mentee.dest_city,
                "township_id": mentee.township_id,
            },
        )  # fmt: skip

    # Whole requests, in-process: where a request's time goes besides the statement.
    client = _logged_in_client(app, "township")
    hx = {"HX-Request": "true"}

    def get(path, headers=None):
        answer = client.get(path, headers=headers or {})
        if answer.status_code != 200:
            raise BenchError(f"in-process GET {path}: HTTP {answer.status_code}")
        return answer

    out["breakdown"] = {
        "fragment": _breakdown(app, lambda: get(paths["fragment"], hx)),
        "page": _breakdown(app, lambda: get(paths["page"])),
    }
    out["request_fragment_ms"] = out["breakdown"]["fragment"]["request_ms"]
    out["request_page_ms"] = out["breakdown"]["page"]["request_ms"]
    sys.path.insert(0, str(REPO / "bench"))
    from floor_app import app as floor

    floor_client = floor.test_client()
    out["request_floor_ms"] = _median_ms(lambda: floor_client.get("/"))
    if cprofile:
        out["cprofile"] = _cprofile(lambda: get(paths["fragment"], hx), PROFILE_REQUESTS)
    return out


def _timed_parts(app) -> list[tuple[str, int, object, str]]:
    """(label, depth, owner, attribute) of the steps a suggestion request goes through."""
    import flask.templating

    from baojing import security
    from baojing.blueprints.mentors import views
    from baojing.services.mentors import suggestions

    return [
        ("before_request hooks (login gate, write intent, …)", 1, app, "preprocess_request"),
        ("session → user (security.load_session_user)", 2, security, "load_session_user"),
        ("the view (dispatch_request)", 1, app, "dispatch_request"),
        ("get_member_or_404 (ORM select of the mentee)", 2, views, "get_member_or_404"),
        ("suggestions.suggest()", 2, suggestions, "suggest"),
        ("ProposeForm() + new_request_id()", 2, views, "ProposeForm"),
        ("ProposeForm() + new_request_id()", 2, views, "new_request_id"),
        ("template render (jinja)", 2, flask.templating, "_render"),
        ("finalize: after_request hooks, session save", 1, app, "finalize_request"),
        ("teardown (close connections, …)", 1, app, "do_teardown_request"),
    ]


def _breakdown(app, call, n: int = 100, rounds: int = 5) -> dict:
    """Time `rounds` rounds of n whole requests and, inside them, each step of
    _timed_parts(); keep the round with the lowest mean (the least disturbed by whatever
    else runs on the machine).

    The steps are timed by wrapping those functions in this process only (the app's code is
    unchanged): perf_counter around each call, summed. No profiler, so no profiler overhead
    is spread over the Python-heavy parts. Returns per-request means and the median.
    """
    import functools

    sums: dict[str, float] = {}
    originals = []

    def timed(label, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                sums[label] = sums.get(label, 0.0) + time.perf_counter() - started

        return wrapper

    parts = _timed_parts(app)
    for label, _depth, owner, attr in parts:
        if not hasattr(owner, attr):
            continue
        originals.append((owner, attr, owner.__dict__.get(attr), getattr(owner, attr)))
        setattr(owner, attr, timed(label, getattr(owner, attr)))
    try:
        for _ in range(20):
            call()
        best = None
        for _ in range(rounds):
            sums.clear()
            times = []
            for _ in range(n):
                started = time.perf_counter()
                call()
                times.append(time.perf_counter() - started)
            if best is None or sum(times) < sum(best[0]):
                best = (times, dict(sums))
        times, sums = best
    finally:
        for owner, attr, own, _ in reversed(originals):
            if own is None:  # an instance attribute over a class method: drop it again
                delattr(owner, attr)
            else:
                setattr(owner, attr, own)
    mean = sum(times) / n
    steps, seen = [], set()
    for label, depth, *_ in parts:
        if label in seen or label not in sums:
            continue
        seen.add(label)
        steps.append({"label": label, "depth": depth, "ms": sums[label] / n * 1000})
    inside = sum(s["ms"] for s in steps if s["depth"] == 1)
    steps.insert(
        0,
        {
            "label": "outside the app (test client, request context, session cookie)",
            "depth": 1,
            "ms": mean * 1000 - inside,
        },
    )
    return {"request_ms": statistics.median(times) * 1000, "mean_ms": mean * 1000, "steps": steps}


def _cprofile(call, n: int) -> str:
    """The top functions by own time and by cumulative time over n calls."""
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        call()
    prof.disable()
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    return text.getvalue()


def print_analysis(a: dict) -> None:
    m = a["mentee"]
    print(
        f"suggestion statement for {m['name']} (member {m['id']}: {m['trade']}, "
        f"{m['dest_province']}{m['dest_city']}, township {m['township_id']}):"
    )
    print(f"  params {a['params']}")
    print(
        f"  {a['rows']} rows, first {a['first']!r}; {a['candidates']} available mentors match "
        f"at least one of trade / city / province / township, {a['close_candidates']} both "
        f"trade and city (with five of those, only they are ranked)"
    )
    print("  EXPLAIN QUERY PLAN:")
    for line in a["plan"]:
        flag = "  ← FULL SCAN" if line.strip() in a["full_scans"] else ""
        print(f"    {line}{flag}")
    print(
        "  full scans of members / mentor_profiles: "
        + ("none" if not a["full_scans"] else "; ".join(a["full_scans"]))
    )
    frag, page, floor = a["request_fragment_ms"], a["request_page_ms"], a["request_floor_ms"]
    print(
        f"in-process medians (Flask test client, no HTTP): "
        f"statement {a['sql_ms']:.3f} ms, suggest() {a['suggest_ms']:.3f} ms, "
        f"fragment request {frag:.3f} ms, page request {page:.3f} ms, bare floor app "
        f"{floor:.3f} ms (floor/fragment in-process {floor / frag:.3f})"
    )
    print()
    print("where a request's time goes (in-process, mean per request):")
    print()
    print("| step | fragment ms | share | page ms |")
    print("|---|---:|---:|---:|")
    frag_steps = a["breakdown"]["fragment"]["steps"]
    page_steps = {s["label"]: s["ms"] for s in a["breakdown"]["page"]["steps"]}
    frag_mean = a["breakdown"]["fragment"]["mean_ms"]
    for step in frag_steps:
        indent = "&nbsp;&nbsp;" * (step["depth"] - 1) + ("↳ " if step["depth"] > 1 else "")
        other = page_steps.get(step["label"])
        print(
            f"| {indent}{step['label']} | {step['ms']:.3f} | {step['ms'] / frag_mean:.0%} | "
            f"{'—' if other is None else format(other, '.3f')} |"
        )
    print(
        f"| **whole request (mean)** | **{frag_mean:.3f}** | 100% | "
        f"{a['breakdown']['page']['mean_ms']:.3f} |"
    )
    print(
        f"(of suggest()'s {a['suggest_ms']:.3f} ms median on its own, SQLite runs the statement "
        f"in {a['sql_ms']:.3f} ms)"
    )
    if a.get("cprofile"):
        print()
        print(f"cProfile of {PROFILE_REQUESTS} in-process fragment requests:")
        print(a["cprofile"])


# --- the bench -------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_options(parser)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile in-process requests even when the fragment meets its target",
    )
    add_recycle_option(parser)
    add_output_options(parser, OUT)
    args = parser.parse_args(argv)
    return run_bench(args, run, "baojing-bench-mentors-", passed="all_pass")


def run(args, tmp: Path) -> dict:
    started, machine = start_run(args)
    db_path = tmp / "bench.db"
    env = bench_env(db_path)

    load_demo(env, args.members)
    wal_after_load, db_bytes = db_size(db_path)
    mentors = db_scalar(db_path, "SELECT count(*) FROM mentor_profiles")
    members = db_scalar(db_path, "SELECT count(*) FROM members")
    accounts = dict(
        db_rows(
            db_path,
            "SELECT username, member_id FROM users WHERE username IN (:mentee, :mentor)",
            mentee=MENTEE_ACCOUNT,
            mentor=MENTOR_ACCOUNT,
        )
    )
    if set(accounts) != {MENTEE_ACCOUNT, MENTOR_ACCOUNT}:
        raise BenchError(f"demo accounts missing: found {sorted(accounts)}")
    mentee_id = accounts[MENTEE_ACCOUNT]
    mentee_name = db_scalar(db_path, "SELECT name FROM members WHERE id = :id", id=mentee_id)
    mentor_profile_id = db_scalar(
        db_path,
        "SELECT id FROM mentor_profiles WHERE member_id = :id",
        id=accounts[MENTOR_ACCOUNT],
    )
    print(
        f"  {members:,} members, {mentors:,} mentors ({mentors / max(members, 1):.1%}); "
        f"mentee {mentee_name} (member {mentee_id})"
    )

    app_port, floor_port = start_app_and_floor(args, env, tmp)
    cookie = login(app_port, "township")
    base = f"/mentors/suggest/{mentee_id}"
    pages = [
        {
            "label": f"suggestions fragment {base}/list, HX-Request (township)",
            "kind": "fragment",
            "path": f"{base}/list",
            "headers": {"Cookie": cookie, "HX-Request": "true"},
        },
        {
            "label": f"suggestion page {base} (township)",
            "kind": "page",
            "path": base,
            "headers": {"Cookie": cookie},
        },
        {
            "label": f"list as a whole page {base}/list, no htmx (township)",
            "kind": "list_page",
            "path": f"{base}/list",
            "headers": {"Cookie": cookie},
        },
    ]
    for page in pages:
        page.update(verify_page(app_port, page))
        print(
            f"  ok  {page['label']}: {page['bytes']:,} B, {page['suggestions']} suggestions"
            + (f", first {page['first_name']}" if page["first_name"] else "")
        )
    fragment = pages[0]
    demo_mentor_first = fragment["first_mentor_id"] == mentor_profile_id
    if not demo_mentor_first:
        print(
            f"  note: the demo `mentor` (profile {mentor_profile_id}) is not the first "
            f"suggestion ({fragment['first_name']}, profile {fragment['first_mentor_id']})"
        )

    # floor, fragment, floor, page, floor, list page, floor
    floors, runs, measured = measure_get_pages(args, tmp, app_port, floor_port, pages)

    sessions_still_good(app_port, base, (cookie,))

    wal_during = wal_bytes(db_path)
    stop_servers()
    wal_after = wal_bytes(db_path)

    results = page_results(pages, measured, floors, TARGETS, keep=("bytes", "suggestions"))
    targets_ok = targets_met(results)

    print("analysing the suggestion statement (servers stopped) …", flush=True)
    analysis = analyse(
        db_path,
        mentee_id,
        {"fragment": f"{base}/list", "page": base},
        cprofile=args.profile or not targets_ok,
    )
    plan_ok = not analysis["full_scans"]
    all_pass = targets_ok and plan_ok

    table = render_table(results, "page")
    print()
    print(table)
    print()
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, gunicorn {args.workers} "
        f"sync workers, {members:,} members, {mentors:,} mentors "
        f"(DB {db_bytes / 1024 / 1024:.1f} MiB), nproc={machine['nproc']}"
    )
    floor_cv = print_run_quality(runs, floors, machine)
    print()
    print_analysis(analysis)
    print()
    print_wal(wal_after_load, wal_during, wal_after)
    problems = []
    if not targets_ok:
        problems.append("THE SUGGESTIONS FRAGMENT MISSES 0.25 OF THE FLOOR")
    if not plan_ok:
        problems.append("THE SUGGESTION STATEMENT SCANS A WHOLE TABLE")
    print("result:", "all targets met" if all_pass else "; ".join(problems))

    report = {
        **report_head(started, machine),
        "config": {
            "members": args.members,
            **load_config(args),
            "db_bytes": db_bytes,
            "members_in_db": members,
            "mentors": mentors,
            "mentee_member_id": mentee_id,
            "mentee_name": mentee_name,
            "demo_mentor_profile_id": mentor_profile_id,
        },
        "results": results,
        "runs": runs,
        "floor_cv": floor_cv,
        "demo_mentor_first": demo_mentor_first,
        "statement": analysis,
        "loadavg_after": os.getloadavg(),
        "wal_bytes_after_load": wal_after_load,
        "wal_bytes_end_of_run": wal_during,
        "wal_bytes_after_stop": wal_after,
        "targets_met": targets_ok,
        "plan_ok": plan_ok,
        "all_pass": all_pass,
        "table": table,
    }
    write_report(args.out, report)
    return report


if __name__ == "__main__":
    sys.exit(main())
