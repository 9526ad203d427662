"""Benchmark the points store counter against a bare-Flask floor.

    .venv/bin/python bench/store.py [--members 20000] [--duration 10]
    tools/with-postgresql .venv/bin/python bench/store.py --engine postgresql

Same set-up as bench/members.py (a fresh demo database, SQLite in a temp directory or with
--engine postgresql a database made for the run on BAOJING_TEST_POSTGRESQL's server; the app
and bench/floor_app.py under the project's gunicorn config with 2 sync workers, the access
log off), then logs in as the demo `clerk` several times (several counters) and runs wrk
alternately against the floor and:

1. the counter look-up fragment: POST /store/counter/lookup, q=<surname>, HX-Request;
2. the counter panel: GET /store/counter?member=<id>, HX-Request (reported, no target);
3. redemptions: POST /store/redeem from every clerk session, a unique request_id per
   request, spread over all members who can afford the cheapest goods item.

After the runs the servers are stopped and the database is counted: every 200 answer of a
redemption (its receipt serial, captured by the Lua script) must be one new redemption with
exactly one 'redeem' ledger entry, nothing duplicated or lost, and `flask points verify`
must pass. Prints a markdown table and writes bench/out/store.json (store-postgresql.json on
PostgreSQL). See bench/README.md.
"""

import argparse
import http.client
import os
import random
import re
import sys
import time
import urllib.parse
from pathlib import Path

from common import (
    RECEIPT,
    REPO,
    STOCK,
    BenchError,
    Database,
    add_load_options,
    add_output_options,
    add_recycle_option,
    analyze,
    bench_env,
    check_engine,
    clerk_session,
    db_scalar,
    db_size,
    fetch,
    load_config,
    load_demo,
    measure_alternating,
    new_redemptions,
    open_database,
    page_results,
    per_second,
    points_verify,
    prepare_store,
    print_run_quality,
    print_wal,
    render_table,
    report_head,
    run_bench,
    run_wrk,
    start_app_and_floor,
    start_run,
    stop_servers,
    store_counts,
    targets_met,
    wal_bytes,
    write_report,
)

OUT = REPO / "bench" / "out" / "store.json"
SURNAME = "刘"
TARGETS = {"lookup": 0.35, "panel": None, "redeem": 0.10}

# Stats hooks shared by every run: per-thread counts of requests sent, of 200 answers and
# of anything else; the receipt serials of 200 answers when capture_serials is set; p50/p99
# from done(). wrk's own "Non-2xx or 3xx" would miss a redirect to /login.
LUA_STATS = r"""
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  sent = 0
  ok = 0
  non200 = 0
  bad_status = 0
  noserial = 0
  maxslot = 0
  bad_body = ""
  serials = {}
  math.randomseed(os.time() * 1000 + tid)
  if thread_init then thread_init() end
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
    if capture_serials then
      local s = string.match(body, "小票号 <strong>(JF[%d%-]+)</strong>")
      if s then serials[#serials + 1] = s else noserial = noserial + 1 end
    end
  else
    non200 = non200 + 1
    bad_status = status
    if bad_body == "" then bad_body = string.sub(body or "", 1, 2000) end
  end
end

function done(summary, latency, requests)
  local n_sent, n_ok, bad, last, nos, top = 0, 0, 0, 0, 0, 0
  local out = nil
  if capture_serials then out = assert(io.open(serials_file, "w")) end
  for _, t in ipairs(threads) do
    n_sent = n_sent + t:get("sent")
    n_ok = n_ok + t:get("ok")
    bad = bad + t:get("non200")
    nos = nos + t:get("noserial")
    local s = t:get("bad_status")
    if s ~= 0 then
      last = s
      local f = io.open(bad_body_file, "w")
      if f then f:write(t:get("bad_body")); f:close() end
    end
    if t:get("maxslot") > top then top = t:get("maxslot") end
    if out then
      for _, serial in ipairs(t:get("serials")) do out:write(serial, "\n") end
    end
  end
  if out then out:close() end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "mean_us": %.1f, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "non200": %d, '
    .. '"last_bad_status": %d, "sent": %d, "ok200": %d, "no_serial": %d, "max_slot": %d, '
    .. '"err_connect": %d, "err_read": %d, "err_write": %d, '
    .. '"err_status": %d, "err_timeout": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency.mean,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(90)),
    math.floor(latency:percentile(99)), math.floor(latency.max), bad, last,
    n_sent, n_ok, nos, top, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

# A static request: method, body and extra headers set once. No request() function, so
# wrk builds the request once and spends no Lua time per request (as in bench/members.py).
LUA_STATIC = r"""
wrk.method = {method}
wrk.body = {body}
{headers}
"""

# Redemptions: request k of thread t takes member slot (k-1)*nthreads + t of the member
# file (one line per redemption a member can afford, interleaved so that consecutive
# requests go to different members), the clerk session k mod #clerks, and a request_id
# that is unique per run, thread and request.
LUA_REDEEM = r"""
capture_serials = true
serials_file = {serials_file}
local clerks = {clerks}
local prefix = {prefix}
local item_id = {item_id}
local nthreads = {nthreads}
local first_slot = {first_slot}
local members = {{}}
local k = 0

function thread_init()
  for line in io.lines({members_file}) do members[#members + 1] = line end
end

function request()
  k = k + 1
  sent = sent + 1
  local raw = first_slot + (k - 1) * nthreads + tid  -- 1-based, never wraps in practice
  if raw > maxslot then maxslot = raw end
  local slot = (raw - 1) % #members + 1
  local clerk = clerks[k % #clerks + 1]
  local rid = string.format("%s-%d-%d-%06x", prefix, tid, k, math.random(0, 0xffffff))
  local body = "member_id=" .. members[slot] .. "&item_id=" .. item_id
    .. "&quantity=1&request_id=" .. rid
  return wrk.format("POST", "/store/redeem", {{
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["HX-Request"] = "true",
    ["Cookie"] = clerk[1],
    ["X-CSRFToken"] = clerk[2],
  }}, body)
end
"""


def lua_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def stats_lua(bad_body_file: Path) -> str:
    return f"bad_body_file = {lua_str(str(bad_body_file))}\n" + LUA_STATS


def static_lua(
    bad_body_file: Path, method: str = "GET", body: str = "", headers: dict | None = None
) -> str:
    lines = "\n".join(
        f"wrk.headers[{lua_str(k)}] = {lua_str(v)}" for k, v in (headers or {}).items()
    )
    return stats_lua(bad_body_file) + LUA_STATIC.format(
        method=lua_str(method), body=lua_str(body), headers=lines
    )


def redeem_lua(
    bad_body_file: Path, clerks: list[tuple[str, str]], prefix: str, item_id: int,
    members_file: Path, first_slot: int, serials_file: Path, nthreads: int,
) -> str:  # fmt: skip
    clerk_table = "{" + ", ".join(f"{{{lua_str(c)}, {lua_str(t)}}}" for c, t in clerks) + "}"
    return stats_lua(bad_body_file) + LUA_REDEEM.format(
        serials_file=lua_str(str(serials_file)), clerks=clerk_table, prefix=lua_str(prefix),
        item_id=item_id, nthreads=nthreads, members_file=lua_str(str(members_file)),
        first_slot=first_slot,
    )  # fmt: skip


# --- HTTP ------------------------------------------------------------------------------


def post(port: int, path: str, form: dict, headers: dict) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        hdrs = {"Content-Type": "application/x-www-form-urlencoded", **headers}
        conn.request("POST", path, body=urllib.parse.urlencode(form), headers=hdrs)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


# --- wrk -------------------------------------------------------------------------------


def bad_body_file(lua: Path) -> Path:
    """Where the Lua script of `lua` writes the body of one non-200 answer."""
    return lua.with_suffix(".bad.html")


def wrk(args, lua: Path, port: int, path: str, duration: int, allow_non200=False) -> dict:
    r, _ = run_wrk(
        args, lua, port, path, duration, options=(f"--timeout={args.timeout}s",), grace=120
    )
    r["rps"] = per_second(r)
    bad = bad_body_file(lua)
    if r["non200"] and bad.exists():
        r["bad_body_sample"] = bad.read_text(errors="replace")[:2000]
    if r["non200"] and not allow_non200:
        raise BenchError(
            f"{path}: {r['non200']} non-200 responses (last status {r['last_bad_status']}) "
            f"— the numbers would be fake; one of them:\n{r.get('bad_body_sample', '')[:800]}"
        )
    return r


# --- the database, read outside the server ---------------------------------------------


def account_for_redemptions(db: Database, before: dict, runs: list[dict], item_id: int) -> dict:
    """Compare what wrk was told (200 answers and their serials) with what the DB holds."""
    answered: list[str] = []
    for r in runs:
        answered += [s for s in Path(r["serials_file"]).read_text().split("\n") if s]
    ok200 = sum(r["ok200"] for r in runs)
    sent = sum(r["sent"] for r in runs)
    completed = sum(r["requests"] for r in runs)
    after = store_counts(db)
    new = new_redemptions(db, before["max_redemption_id"])
    new_serials = {row[1] for row in new}
    answered_set = set(answered)
    lost = sorted(answered_set - new_serials)
    unanswered = sorted(new_serials - answered_set)
    prefixes = tuple(r["prefix"] + "-" for r in runs)
    stock_after = db_scalar(db, "SELECT stock FROM catalog_items WHERE id = :id", id=item_id)
    return {
        "requests_sent": sent,
        "responses": completed,
        "in_flight_at_stop": sent - completed,
        "answers_200": ok200,
        "serials_captured": len(answered),
        "distinct_serials_answered": len(answered_set),
        "new_redemptions": after["redemptions"] - before["redemptions"],
        "new_redeem_entries": after["redeem_entries"] - before["redeem_entries"],
        "distinct_new_request_ids": len({row[2] for row in new}),
        "new_rows_not_from_bench": sum(1 for row in new if not row[2].startswith(prefixes)),
        "redemptions_without_one_entry": sum(1 for row in new if row[5] != 1),
        "answered_but_missing": len(lost),
        "stored_but_not_answered": len(unanswered),
        "stock_taken": STOCK - stock_after,
        "units_redeemed": sum(row[4] for row in new if row[3] == item_id),
        "examples_missing": lost[:5],
    }


# --- the bench -------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_options(parser)
    parser.add_argument("--timeout", type=int, default=10, help="wrk --timeout, seconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--clerks", type=int, default=4, help="clerk logins (counters) for redeem")
    parser.add_argument("--q", default=SURNAME, help=f"look-up text (default {SURNAME})")
    add_recycle_option(parser)
    add_output_options(parser, OUT, per_engine=True)
    args = parser.parse_args(argv)
    check_engine(parser, args, OUT)
    return run_bench(args, run, "baojing-bench-store-", passed="all_pass")


def run(args, tmp: Path) -> dict:
    db = open_database(args, tmp)
    started, machine = start_run(args, db)
    env = bench_env(db)

    load_demo(env, args.members)
    entries = db_scalar(db, "SELECT count(*) FROM point_entries")
    store = prepare_store(db, random.Random(20200522))
    members_file = tmp / "redeem-members.txt"
    members_file.write_text("\n".join(map(str, store["slots"])) + "\n")
    print(
        f"  {entries} ledger entries; redeeming item {store['item_id']} 「{store['name']}」 "
        f"({store['price']} points, stock set to {STOCK:,}) for {store['members']} members, "
        f"{len(store['slots'])} redemptions affordable"
    )
    rc, out = points_verify(env)
    if rc != 0:
        raise BenchError(f"flask points verify fails on the fresh demo ({rc}):\n{out}")
    analyze(db)
    wal_after_load, db_bytes = db_size(db)

    app_port, floor_port = start_app_and_floor(args, env, tmp)

    clerks = [clerk_session(app_port) for _ in range(max(1, args.clerks))]
    cookie, csrf = clerks[0]
    print(f"  {len(clerks)} clerk sessions")

    # The member whose panel is measured: one with receipts to list and the most points.
    panel_member = db_scalar(
        db,
        "SELECT r.member_id FROM redemptions r JOIN point_accounts a "
        "ON a.member_id = r.member_id ORDER BY a.balance DESC, r.member_id LIMIT 1",
    )
    fragment = {"HX-Request": "true", "Cookie": cookie}
    lookup_form = {"q": args.q}
    lookup_headers = {**fragment, "X-CSRFToken": csrf}

    # Check each request once outside wrk: a real 200 fragment of the right content.
    status, headers, body = post(app_port, "/store/counter/lookup", lookup_form, lookup_headers)
    text = body.decode(errors="replace")
    if status != 200 or "<html" in text.lower():
        raise BenchError(f"look-up: HTTP {status}, fragment={'<html' not in text.lower()}")
    lookup_rows = text.count("<li>")
    if lookup_rows == 0:
        raise BenchError(f"look-up q={args.q}: no rows in the fragment:\n{text[:500]}")
    print(f"  ok  look-up q={args.q}: {len(body)} B, {lookup_rows} rows")
    panel_path = f"/store/counter?member={panel_member}"
    status, headers, body = fetch(app_port, panel_path, fragment)
    text = body.decode(errors="replace")
    if status != 200 or "<html" in text.lower() or 'id="member-panel"' not in text:
        raise BenchError(f"panel: HTTP {status} {headers.get('Location')}")
    panel_bytes = len(body)
    print(f"  ok  panel member={panel_member}: {panel_bytes} B")
    probe_rid = f"bench-probe-{os.getpid()}"
    status, _, body = post(
        app_port, "/store/redeem",
        {"member_id": store["slots"][-1], "item_id": store["item_id"], "quantity": 1,
         "request_id": probe_rid},
        lookup_headers,
    )  # fmt: skip
    serial = RECEIPT.search(body.decode(errors="replace"))
    if status != 200 or not serial:
        raise BenchError(f"redeem probe: HTTP {status}\n{body.decode(errors='replace')[:800]}")
    print(f"  ok  redeem probe: receipt {serial.group(1)}, {len(body)} B")

    floor_lua = tmp / "floor.lua"
    floor_lua.write_text(static_lua(bad_body_file(floor_lua)))
    lookup_lua = tmp / "lookup.lua"
    lookup_lua.write_text(
        static_lua(
            bad_body_file(lookup_lua),
            "POST",
            urllib.parse.urlencode(lookup_form),
            {**lookup_headers, "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
    )
    panel_lua = tmp / "panel.lua"
    panel_lua.write_text(static_lua(bad_body_file(panel_lua), "GET", "", fragment))

    tag = f"{int(time.time()) % 100000:05d}"
    redeem_runs: list[dict] = []

    def redeem_run(name: str, duration: int) -> dict:
        # Each run starts on the member slots after the last one the previous run used.
        first_slot = max((r["max_slot"] for r in redeem_runs), default=0)
        prefix = f"bench{tag}{name}"
        serials_file = tmp / f"serials-{name}.txt"
        lua = tmp / f"redeem-{name}.lua"
        lua.write_text(
            redeem_lua(
                bad_body_file(lua),
                clerks,
                prefix,
                store["item_id"],
                members_file,
                first_slot,
                serials_file,
                args.threads,
            )  # fmt: skip
        )
        r = wrk(args, lua, app_port, "/store/redeem", duration, allow_non200=True)
        r.update(prefix=prefix, serials_file=str(serials_file), first_slot=first_slot)
        if r["max_slot"] > len(store["slots"]):
            print("  WARNING: ran out of affordable member slots; expect 422 answers")
        if r["non200"]:
            errs = re.findall(r"<p>([^<]+)</p>", r.get("bad_body_sample", ""))
            print(f"  {r['non200']} non-200 answers, last {r['last_bad_status']}: {errs[:3]}")
        redeem_runs.append(r)
        return r

    pages = [
        {"label": f"look-up fragment q={args.q} (clerk)", "kind": "lookup",
         "run": lambda d: wrk(args, lookup_lua, app_port, "/store/counter/lookup", d)},
        {"label": f"counter panel ?member={panel_member} (clerk)", "kind": "panel",
         "run": lambda d: wrk(args, panel_lua, app_port, panel_path, d)},
        {"label": f"redeem, {len(clerks)} clerk sessions, unique request_id", "kind": "redeem",
         "run": lambda d: redeem_run("m", d)},
    ]  # fmt: skip

    before = store_counts(db)  # the probe is in here already
    if args.warmup > 0:
        print(f"warm-up: {args.warmup:g}s per URL", flush=True)
        wrk(args, floor_lua, floor_port, "/", args.warmup)
        wrk(args, lookup_lua, app_port, "/store/counter/lookup", args.warmup)
        wrk(args, panel_lua, app_port, panel_path, args.warmup)
        redeem_run("w", args.warmup)

    floors, runs, measured = measure_alternating(
        args,
        pages,
        lambda duration: wrk(args, floor_lua, floor_port, "/", duration),
        lambda page, duration: page["run"](duration),
    )

    status, headers, _ = fetch(app_port, "/store/counter", {"Cookie": cookie})
    if status != 200:
        raise BenchError(f"session lost after the runs: HTTP {status} {headers.get('Location')}")

    wal_during = wal_bytes(db)
    stop_servers()  # graceful: requests still in flight when wrk stopped finish first
    wal_after = wal_bytes(db)

    accounting = account_for_redemptions(db, before, redeem_runs, store["item_id"])
    verify_rc, verify_out = points_verify(env)
    non200 = sum(r["non200"] for r in redeem_runs)
    a = accounting
    exact = (
        non200 == 0
        and a["answers_200"] == a["serials_captured"] == a["distinct_serials_answered"]
        and a["answered_but_missing"] == 0
        and a["new_redemptions"] == a["new_redeem_entries"] == a["distinct_new_request_ids"]
        and a["redemptions_without_one_entry"] == 0
        and a["new_rows_not_from_bench"] == 0
        and a["new_redemptions"] == a["answers_200"] + a["stored_but_not_answered"]
        and a["stored_but_not_answered"] <= a["in_flight_at_stop"]
        and a["stock_taken"] == a["units_redeemed"] + 1  # + the probe
    )
    accounting.update(
        non200=non200, last_bad_status=max(r["last_bad_status"] for r in redeem_runs),
        exact=exact, verify_rc=verify_rc, verify_out=verify_out[-2000:],
    )  # fmt: skip

    # The redemption's rate is redemptions answered 200 (each a durable write), not requests.
    results = page_results(
        pages, measured, floors, TARGETS, (),
        rps_of=lambda page, r: per_second(r, "ok200") if page["kind"] == "redeem" else r["rps"],
    )  # fmt: skip
    met = targets_met(results)
    all_pass = met and exact and verify_rc == 0

    table = render_table(results, f"endpoint ({db.label})")
    print()
    print(table)
    print()
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, gunicorn {args.workers} "
        f"sync workers, {args.members} members, {entries} ledger entries "
        f"({db.label} DB {db_bytes / 1024 / 1024:.1f} MiB), nproc={machine['nproc']}"
    )
    print(f"look-up q={args.q}: {lookup_rows} rows; panel: {panel_bytes} B")
    floor_cv = print_run_quality(runs, floors, machine)
    print()
    print(
        f"redemptions (warm-up + measured run, {len(redeem_runs)} wrk runs, {len(clerks)} clerks):"
    )
    print(
        f"  requests sent {a['requests_sent']}, responses {a['responses']}, "
        f"in flight when wrk stopped {a['in_flight_at_stop']}"
    )
    print(
        f"  200 answers {a['answers_200']} (receipt serials captured {a['serials_captured']}, "
        f"distinct {a['distinct_serials_answered']}), non-200 {non200}"
    )
    print(
        f"  new redemptions rows {a['new_redemptions']}, new 'redeem' ledger entries "
        f"{a['new_redeem_entries']}, distinct request_ids {a['distinct_new_request_ids']}"
    )
    print(
        f"  answered but missing from the DB {a['answered_but_missing']}; stored but the answer "
        f"never reached wrk {a['stored_but_not_answered']} (≤ in flight); redemptions without "
        f"exactly one entry {a['redemptions_without_one_entry']}; stock taken {a['stock_taken']} "
        f"(= {a['units_redeemed']} + 1 probe)"
    )
    print(
        f"  flask points verify: exit {verify_rc} — {verify_out.splitlines()[-1] if verify_out else ''}"
    )
    print(f"  accounting: {'EXACT' if exact else 'MISMATCH'}")
    print()
    print_wal(wal_after_load, wal_during, wal_after, db.engine)
    print(
        "result:",
        "all targets met, redemptions accounted for exactly"
        if all_pass
        else ("SOME TARGETS MISSED" if not met else "")
        + ("" if exact and verify_rc == 0 else " REDEMPTIONS DO NOT ADD UP"),
    )

    report = {
        **report_head(started, machine),
        "config": {
            "engine": db.engine,
            "members": args.members,
            "ledger_entries": entries,
            **load_config(args),
            "clerks": len(clerks),
            "db_bytes": db_bytes,
            "lookup_q": args.q,
            "lookup_rows": lookup_rows,
            "panel_member_id": panel_member,
            "panel_bytes": panel_bytes,
            "redeem_item": {k: store[k] for k in ("item_id", "price", "name", "members")},
            "redeem_slots": len(store["slots"]),
        },
        "results": results,
        "runs": runs,
        "redeem_runs": redeem_runs,
        "redemption_accounting": accounting,
        "floor_cv": floor_cv,
        "loadavg_after": os.getloadavg(),
        "wal_bytes_after_load": wal_after_load,
        "wal_bytes_end_of_run": wal_during,
        "wal_bytes_after_stop": wal_after,
        "targets_met": met,
        "all_pass": all_pass,
        "table": table,
    }
    write_report(args.out, report)
    return report


if __name__ == "__main__":
    sys.exit(main())
