"""Benchmark the points store counter against a bare-Flask floor.

    .venv/bin/python bench/store.py [--members 20000] [--duration 10]

Same set-up as bench/members.py (a fresh SQLite demo database in a temp directory, the app
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
must pass. Prints a markdown table and writes bench/out/store.json. See bench/README.md.
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import closing
from pathlib import Path

import members as mb  # bench/members.py: processes, login, machine notes
from members import BenchError, fetch, fmt_size, wal_bytes

REPO = mb.REPO
OUT = REPO / "bench" / "out" / "store.json"
SURNAME = "刘"
# The cheapest goods item of the demo catalogue (洗衣液 2 瓶, 30 points); its stock is set
# to STOCK before the servers start so that stock never runs out during the bench.
STOCK = 10_000_000
TARGETS = {"lookup": 0.35, "panel": None, "redeem": 0.10}
RECEIPT = re.compile(r"小票号 <strong>(JF\d{8}-\d{6,})</strong>")

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


def clerk_session(port: int, username: str = "clerk") -> tuple[str, str]:
    """(Cookie header, CSRF token) of a fresh login; the token is read after the login."""
    cookie = mb.login(port, username)
    status, headers, body = fetch(port, "/store/counter", {"Cookie": cookie})
    if status != 200:
        raise BenchError(f"/store/counter as {username}: HTTP {status} {headers.get('Location')}")
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', body.decode())
    if not m:
        raise BenchError("no <meta name=csrf-token> on /store/counter")
    return cookie, m.group(1)


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
    cmd = [
        args.wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s",
        f"--timeout={args.timeout}s", "--latency", "-s", str(lua),
        f"http://127.0.0.1:{port}{path}",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120)
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}): {proc.stderr}{proc.stdout}")
    m = re.search(r"^BENCH_JSON (\{.*\})$", proc.stdout, re.M)
    if not m:
        raise BenchError(f"no BENCH_JSON line in wrk output:\n{proc.stdout}{proc.stderr}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    bad = bad_body_file(lua)
    if r["non200"] and bad.exists():
        r["bad_body_sample"] = bad.read_text(errors="replace")[:2000]
    if r["requests"] == 0:
        raise BenchError(f"wrk made no requests to {path}:\n{proc.stdout}")
    if r["non200"] and not allow_non200:
        raise BenchError(
            f"{path}: {r['non200']} non-200 responses (last status {r['last_bad_status']}) "
            f"— the numbers would be fake; one of them:\n{r.get('bad_body_sample', '')[:800]}"
        )
    return r


# --- the database, read outside the server ---------------------------------------------


def db_rows(db_path: Path, sql: str, *params) -> list[tuple]:
    with closing(sqlite3.connect(db_path, timeout=30)) as conn:
        return conn.execute(sql, params).fetchall()


def db_scalar(db_path: Path, sql: str, *params):
    return db_rows(db_path, sql, *params)[0][0]


def prepare_store(db_path: Path, rng: random.Random) -> dict:
    """Pick the cheapest goods item, give it a stock that cannot run out, and list the
    members who can afford it: one line per redemption each can pay for, interleaved."""
    item_id, price, name = db_rows(
        db_path,
        "SELECT id, price, name FROM catalog_items WHERE kind = 'goods' AND active "
        "AND stock IS NOT NULL ORDER BY price, id LIMIT 1",
    )[0]
    with closing(sqlite3.connect(db_path, timeout=30)) as conn, conn:
        conn.execute("UPDATE catalog_items SET stock = ? WHERE id = ?", (STOCK, item_id))
    funded = db_rows(
        db_path,
        "SELECT a.member_id, a.balance / ? FROM point_accounts a JOIN members m "
        "ON m.id = a.member_id WHERE m.status = 'active' AND a.balance >= ?",
        price, price,
    )  # fmt: skip
    slots: list[int] = []
    rounds = max(n for _, n in funded)
    for r in range(rounds):
        batch = [mid for mid, n in funded if n > r]
        rng.shuffle(batch)
        slots.extend(batch)
    return {
        "item_id": item_id,
        "price": price,
        "name": name,
        "members": len(funded),
        "slots": slots,
    }


def store_counts(db_path: Path) -> dict:
    return {
        "redemptions": db_scalar(db_path, "SELECT count(*) FROM redemptions"),
        "redeem_entries": db_scalar(
            db_path, "SELECT count(*) FROM point_entries WHERE kind = 'redeem'"
        ),
        "max_redemption_id": db_scalar(db_path, "SELECT coalesce(max(id), 0) FROM redemptions"),
    }


def account_for_redemptions(db_path: Path, before: dict, runs: list[dict], item_id: int) -> dict:
    """Compare what wrk was told (200 answers and their serials) with what the DB holds."""
    answered: list[str] = []
    for r in runs:
        answered += [s for s in Path(r["serials_file"]).read_text().split("\n") if s]
    ok200 = sum(r["ok200"] for r in runs)
    sent = sum(r["sent"] for r in runs)
    completed = sum(r["requests"] for r in runs)
    after = store_counts(db_path)
    new = db_rows(
        db_path,
        "SELECT r.id, r.serial, r.request_id, r.item_id, r.quantity, "
        "(SELECT count(*) FROM point_entries e WHERE e.redemption_id = r.id "
        " AND e.kind = 'redeem') FROM redemptions r WHERE r.id > ?",
        before["max_redemption_id"],
    )
    new_serials = {row[1] for row in new}
    answered_set = set(answered)
    lost = sorted(answered_set - new_serials)
    unanswered = sorted(new_serials - answered_set)
    prefixes = tuple(r["prefix"] + "-" for r in runs)
    stock_after = db_scalar(db_path, "SELECT stock FROM catalog_items WHERE id = ?", item_id)
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


def code_version() -> str:
    """The commit measured, and whether the working tree had changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "baojing"],
            cwd=REPO, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
    except OSError:
        return "?"
    return head + (" (baojing/ modified)" if dirty else "")


def points_verify(env: dict) -> tuple[int, str]:
    proc = subprocess.run(
        [mb.venv_bin("flask"), "points", "verify"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return proc.returncode, (proc.stdout + proc.stderr).strip()


# --- the bench -------------------------------------------------------------------------


def render_table(results: list[dict]) -> str:
    lines = [
        "| endpoint | req/s | p50 ms | p99 ms | ratio to floor | target | pass/fail |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {r['rps']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{'—' if r['ratio'] is None else format(r['ratio'], '.3f')} | "
            f"{'' if r['target'] is None else '≥ ' + format(r['target'], '.2f')} | {r['verdict']} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20000, help="demo members (default 20000)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk warm-up per URL")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c")
    parser.add_argument("--timeout", type=int, default=10, help="wrk --timeout, seconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--clerks", type=int, default=4, help="clerk logins (counters) for redeem")
    parser.add_argument("--q", default=SURNAME, help=f"look-up text (default {SURNAME})")
    parser.add_argument(
        "--recycle",
        action="store_true",
        help="keep gunicorn.conf.py's max_requests worker recycling (off by default)",
    )
    parser.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dir and its DB")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, mb._on_signal)
    signal.signal(signal.SIGHUP, mb._on_signal)
    tmp = Path(tempfile.mkdtemp(prefix="baojing-bench-store-"))
    try:
        report = run(args, tmp)
        return 0 if report["all_pass"] else 1
    except BenchError as exc:
        print(f"\nBENCH FAILED: {exc}", file=sys.stderr)
        for log in sorted(tmp.glob("gunicorn-*.log")):
            tail = log.read_text(errors="replace")[-2000:]
            if tail.strip():
                print(f"\n--- tail of {log.name} ---\n{tail}", file=sys.stderr)
        args.keep_tmp = True
        return 2
    finally:
        mb.stop_servers()
        if args.keep_tmp:
            print(f"temp dir kept: {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp: Path) -> dict:
    if not Path(args.wrk).exists():
        raise BenchError(f"wrk not found at {args.wrk}")
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    machine = mb.machine_notes(args)
    machine["commit"] = code_version()
    print(
        f"machine: nproc={machine['nproc']} cpu={machine['cpu']!r} python={machine['python']} "
        f"sqlite={machine['sqlite']} {machine['gunicorn']} / {machine['wrk'][:20]}, "
        f"commit {machine['commit']}",
        flush=True,
    )
    db_path = tmp / "bench.db"
    env = dict(os.environ)
    env.update(
        BAOJING_SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}",  # absolute: sqlite:////tmp/...
        BAOJING_SECRET_KEY=mb.SECRET_KEY,
        PYTHONDONTWRITEBYTECODE="1",
    )
    for var in ("FLASK_APP", "FLASK_DEBUG", "BAOJING_BIND", "BAOJING_WORKERS"):
        env.pop(var, None)

    mb.run_flask(env, "db", "upgrade")
    mb.run_flask(env, "demo", "load", "--members", str(args.members))
    entries = db_scalar(db_path, "SELECT count(*) FROM point_entries")
    store = prepare_store(db_path, random.Random(20200522))
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
    wal_after_load = wal_bytes(db_path)
    db_bytes = db_path.stat().st_size + (wal_after_load or 0)

    conf = mb.gunicorn_config(tmp, args.workers, args.recycle)
    app_proc, app_port, app_log = mb.start_gunicorn("app", "app:app", conf, env, tmp, [])
    floor_proc, floor_port, floor_log = mb.start_gunicorn(
        "floor", "floor_app:app", conf, env, tmp, ["--pythonpath", str(REPO / "bench")]
    )
    mb.wait_ready(app_proc, app_port, "/healthz", app_log)
    mb.wait_ready(floor_proc, floor_port, "/", floor_log)
    print(f"gunicorn: app on :{app_port}, floor on :{floor_port}, {args.workers} sync workers")

    clerks = [clerk_session(app_port) for _ in range(max(1, args.clerks))]
    cookie, csrf = clerks[0]
    print(f"  {len(clerks)} clerk sessions")

    # The member whose panel is measured: one with receipts to list and the most points.
    panel_member = db_scalar(
        db_path,
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

    before = store_counts(db_path)  # the probe is in here already
    if args.warmup > 0:
        print(f"warm-up: {args.warmup:g}s per URL", flush=True)
        wrk(args, floor_lua, floor_port, "/", args.warmup)
        wrk(args, lookup_lua, app_port, "/store/counter/lookup", args.warmup)
        wrk(args, panel_lua, app_port, panel_path, args.warmup)
        redeem_run("w", args.warmup)

    floors: list[dict] = []
    runs: list[dict] = []

    def floor_run():
        r = wrk(args, floor_lua, floor_port, "/", args.duration)
        floors.append(r)
        runs.append({"label": "floor", **r})
        print(f"  floor: {r['rps']:.1f} req/s p50 {r['p50_us'] / 1000:.1f} ms", flush=True)

    print(
        f"measuring: wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, "
        f"{len(pages) * 2 + 1} runs",
        flush=True,
    )
    floor_run()
    for page in pages:
        r = page["run"](args.duration)
        page["result"] = r
        runs.append({"label": page["label"], **r})
        print(
            f"  {page['label']}: {r['rps']:.1f} req/s p50 {r['p50_us'] / 1000:.1f} ms", flush=True
        )
        floor_run()

    status, headers, _ = fetch(app_port, "/store/counter", {"Cookie": cookie})
    if status != 200:
        raise BenchError(f"session lost after the runs: HTTP {status} {headers.get('Location')}")

    wal_during = wal_bytes(db_path)
    mb.stop_servers()  # graceful: requests still in flight when wrk stopped finish first
    wal_after = wal_bytes(db_path)

    accounting = account_for_redemptions(db_path, before, redeem_runs, store["item_id"])
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

    results = []
    floor_mean = sum(f["rps"] for f in floors) / len(floors)
    results.append(
        {
            "label": "floor (bare Flask, mean of all runs)",
            "kind": "floor",
            "rps": floor_mean,
            "p50_ms": sum(f["p50_us"] for f in floors) / len(floors) / 1000,
            "p99_ms": sum(f["p99_us"] for f in floors) / len(floors) / 1000,
            "ratio": None,
            "target": None,
            "verdict": "",
        }
    )
    for i, page in enumerate(pages):
        r = page["result"]
        adjacent = (floors[i]["rps"] + floors[i + 1]["rps"]) / 2
        ratio = r["rps"] / adjacent
        target = TARGETS[page["kind"]]
        if page["kind"] == "redeem":
            rps = r["ok200"] / (r["duration_us"] / 1e6)  # redemptions per second
            ratio = rps / adjacent
        else:
            rps = r["rps"]
        results.append(
            {
                "label": page["label"],
                "kind": page["kind"],
                "rps": rps,
                "p50_ms": r["p50_us"] / 1000,
                "p99_ms": r["p99_us"] / 1000,
                "floor_rps": adjacent,
                "ratio": ratio,
                "target": target,
                "verdict": "report" if target is None else ("pass" if ratio >= target else "FAIL"),
                "socket_errors": {k: r[k] for k in r if k.startswith("err_")},
            }
        )
    targets_met = all(r["verdict"] == "pass" for r in results if r["target"] is not None)
    all_pass = targets_met and exact and verify_rc == 0

    table = render_table(results)
    print()
    print(table)
    print()
    errors = sum(r[k] for r in runs for k in r if k.startswith("err_"))
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, gunicorn {args.workers} "
        f"sync workers, {args.members} members, {entries} ledger entries "
        f"(DB {db_bytes / 1024 / 1024:.1f} MiB), nproc={machine['nproc']}"
    )
    print(f"look-up q={args.q}: {lookup_rows} rows; panel: {panel_bytes} B")
    print(f"socket errors over all runs: {errors}")
    floor_rates = [f["rps"] for f in floors]
    floor_cv = statistics.pstdev(floor_rates) / floor_mean
    print(
        f"floor runs: min {min(floor_rates):.0f}, max {max(floor_rates):.0f} req/s, "
        f"CV {floor_cv:.0%}; loadavg before {machine['loadavg_before']}, after {os.getloadavg()}"
    )
    if floor_cv > 0.15:
        print("WARNING: the floor varied by more than 15% between runs — the machine is busy;")
        print("         ratios use the adjacent floor runs, but compare them with care.")
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
    print(f"SQLite WAL after demo load: {fmt_size(wal_after_load)}")
    print(f"SQLite WAL at end of run (servers up): {fmt_size(wal_during)}")
    print(f"SQLite WAL after gunicorn stopped: {fmt_size(wal_after)}")
    print(
        "result:",
        "all targets met, redemptions accounted for exactly"
        if all_pass
        else ("SOME TARGETS MISSED" if not targets_met else "")
        + ("" if exact and verify_rc == 0 else " REDEMPTIONS DO NOT ADD UP"),
    )

    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "config": {
            "members": args.members,
            "ledger_entries": entries,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "wrk_threads": args.threads,
            "wrk_connections": args.connections,
            "gunicorn_workers": args.workers,
            "gunicorn_recycle": args.recycle,
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
        "targets_met": targets_met,
        "all_pass": all_pass,
        "table": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return report


if __name__ == "__main__":
    sys.exit(main())
