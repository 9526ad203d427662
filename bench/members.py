"""Benchmark the member registry pages against a bare-Flask floor.

    .venv/bin/python bench/members.py [--members 20000] [--duration 10]

Builds a fresh SQLite database in a temp directory (`flask db upgrade`, `flask demo load`),
serves the app and bench/floor_app.py with the project's gunicorn config (2 sync workers,
access log off), logs in as `secretary` and `township`, then runs wrk alternately against
the floor and each page. A page's ratio is its req/s over the mean of the two floor runs
next to it. Prints a markdown table and writes bench/out/members.json. See bench/README.md.
"""

import argparse
import http.client
import http.cookiejar
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from baojing.demo import DEMO_PASSWORD as PASSWORD  # "baojing-demo-2020"

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out" / "members.json"
SECRET_KEY = "bench-only-secret-key-0123456789abcdef"  # noqa: S105 - throwaway DB
SURNAME = "刘"

TARGETS = {"list": 0.25, "search": 0.35, "profile": 0.30}

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


class BenchError(RuntimeError):
    pass


# --- processes -------------------------------------------------------------------------

_servers: list[subprocess.Popen] = []


def venv_bin(name: str) -> str:
    for candidate in (Path(sys.executable).parent / name, REPO / ".venv" / "bin" / name):
        if candidate.exists():
            return str(candidate)
    raise BenchError(f"{name} not found next to {sys.executable} or in .venv/bin")


def run_flask(env: dict, *args: str) -> None:
    cmd = [venv_bin("flask"), *args]
    print(f"$ {' '.join(cmd)}", flush=True)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(
            f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
        )
    for line in (proc.stdout + proc.stderr).strip().splitlines()[-3:]:
        print(f"  {line}")
    print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_config(tmp: Path, workers: int, recycle: bool) -> Path:
    """The project's gunicorn.conf.py with the bench's overrides on top."""
    lines = [
        f"exec(compile(open({str(REPO / 'gunicorn.conf.py')!r}).read(), 'gunicorn.conf.py', 'exec'))",
        f"workers = {workers}",
        'worker_class = "sync"',
        "accesslog = None  # off for the bench (not even formatted)",
    ]
    if not recycle:
        lines.append("max_requests = 0  # no worker recycling mid-run (see README)")
    path = tmp / "gunicorn.bench.conf.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def start_gunicorn(
    name: str, app: str, conf: Path, env: dict, tmp: Path, extra: list[str]
) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    log = tmp / f"gunicorn-{name}.log"
    cmd = [
        venv_bin("gunicorn"),
        "-c",
        str(conf),
        "--bind",
        f"127.0.0.1:{port}",
        "--access-logfile",
        "/dev/null",  # belt and braces; conf sets accesslog = None
        "--no-control-socket",  # two masters (and anyone else's) must not share ~/.gunicorn
        *extra,
        app,
    ]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    _servers.append(proc)
    return proc, port, log


def wait_ready(proc: subprocess.Popen, port: int, path: str, log: Path, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"gunicorn exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            status, _, _ = fetch(port, path)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(f"gunicorn on :{port} not ready after {timeout}s:\n{log.read_text()[-3000:]}")


def stop_servers() -> None:
    for proc in _servers:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
    for proc in _servers:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
        # Workers are in the master's process group; make sure none outlived it.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _servers.clear()


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


# --- HTTP ------------------------------------------------------------------------------


def fetch(port: int, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    """One GET, redirects NOT followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def login(port: int, username: str) -> str:
    """Log in through the real form; return the Cookie header value for wrk."""
    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/login", timeout=30) as resp:
        page = resp.read().decode()
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    if not m:
        raise BenchError("no <meta name=csrf-token> on /login")
    form = urllib.parse.urlencode(
        {"username": username, "password": PASSWORD, "csrf_token": m.group(1)}
    ).encode()
    try:
        with opener.open(f"{base}/login", data=form, timeout=30) as resp:
            final = resp.geturl()
    except urllib.error.HTTPError as exc:
        raise BenchError(f"login as {username} failed: HTTP {exc.code}") from exc
    if urllib.parse.urlsplit(final).path.startswith("/login"):
        raise BenchError(f"login as {username} failed: ended on {final}")
    cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "baojing_session=" not in cookies:
        raise BenchError(f"login as {username}: no session cookie in {[c.name for c in jar]}")
    return cookies


# --- wrk -------------------------------------------------------------------------------


def wrk(args, lua: Path, port: int, path: str, headers: dict, duration: int) -> dict:
    cmd = [
        args.wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--latency",
        "-s",
        str(lua),
    ]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}): {proc.stderr}{proc.stdout}")
    m = re.search(r"^BENCH_JSON (\{.*\})$", proc.stdout, re.M)
    if not m:
        raise BenchError(f"no BENCH_JSON line in wrk output:\n{proc.stdout}{proc.stderr}")
    r = json.loads(m.group(1))
    non2xx3xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", proc.stdout)
    r["wrk_non_2xx_3xx"] = int(non2xx3xx.group(1)) if non2xx3xx else 0
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    if r["requests"] == 0:
        raise BenchError(f"wrk made no requests to {path}:\n{proc.stdout}")
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
    if page["kind"] in ("list", "search") and "共 " not in text:
        raise BenchError(f"{page['label']}: no result count in the response")
    total = re.search(r"共 (\d+) 人", text)
    return {"bytes": len(body), "total_rows": int(total.group(1)) if total else None}


def machine_notes(args) -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name, cmd in (
        ("gunicorn", [venv_bin("gunicorn"), "--version"]),
        ("wrk", [args.wrk, "-v"]),
    ):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            versions[name] = (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            versions[name] = "?"
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "nproc": os.cpu_count(),
        "sched_affinity": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "loadavg_before": load,
        **versions,
    }


def wal_bytes(db_path: Path) -> int | None:
    wal = Path(f"{db_path}-wal")
    return wal.stat().st_size if wal.exists() else None


def fmt_size(n: int | None) -> str:
    if n is None:
        return "no WAL file"
    return f"{n} B ({n / 1024 / 1024:.2f} MiB)"


def render_table(results: list[dict]) -> str:
    lines = [
        "| page | req/s | p50 ms | p99 ms | ratio to floor | target | pass/fail |",
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
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--recycle",
        action="store_true",
        help="keep gunicorn.conf.py's max_requests worker recycling (off by default)",
    )
    parser.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dir and its DB")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    tmp = Path(tempfile.mkdtemp(prefix="baojing-bench-"))
    ok = False
    try:
        report = run(args, tmp)
        ok = report["all_pass"]
        return 0 if ok else 1
    except BenchError as exc:
        print(f"\nBENCH FAILED: {exc}", file=sys.stderr)
        for log in sorted(tmp.glob("gunicorn-*.log")):
            tail = log.read_text(errors="replace")[-2000:]
            if tail.strip():
                print(f"\n--- tail of {log.name} ---\n{tail}", file=sys.stderr)
        args.keep_tmp = True
        return 2
    finally:
        stop_servers()
        if args.keep_tmp:
            print(f"temp dir kept: {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp: Path) -> dict:
    if not Path(args.wrk).exists():
        raise BenchError(f"wrk not found at {args.wrk}")
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    machine = machine_notes(args)
    print(
        f"machine: nproc={machine['nproc']} cpu={machine['cpu']!r} python={machine['python']} "
        f"sqlite={machine['sqlite']} {machine['gunicorn']} / {machine['wrk'][:20]}",
        flush=True,
    )
    db_path = tmp / "bench.db"
    env = dict(os.environ)
    env.update(
        BAOJING_SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}",  # absolute: sqlite:////tmp/...
        BAOJING_SECRET_KEY=SECRET_KEY,
        PYTHONDONTWRITEBYTECODE="1",
    )
    for var in ("FLASK_APP", "FLASK_DEBUG", "BAOJING_BIND", "BAOJING_WORKERS"):
        env.pop(var, None)

    run_flask(env, "db", "upgrade")
    run_flask(env, "demo", "load", "--members", str(args.members))
    wal_after_load = wal_bytes(db_path)
    db_bytes = db_path.stat().st_size + (wal_after_load or 0)  # data may still be in the WAL

    conf = gunicorn_config(tmp, args.workers, args.recycle)
    app_proc, app_port, app_log = start_gunicorn("app", "app:app", conf, env, tmp, [])
    floor_proc, floor_port, floor_log = start_gunicorn(
        "floor", "floor_app:app", conf, env, tmp, ["--pythonpath", str(REPO / "bench")]
    )
    wait_ready(app_proc, app_port, "/healthz", app_log)
    wait_ready(floor_proc, floor_port, "/", floor_log)
    print(f"gunicorn: app on :{app_port}, floor on :{floor_port}, {args.workers} sync workers")

    sec_cookie = login(app_port, "secretary")
    town_cookie = login(app_port, "township")
    status, headers, body = fetch(app_port, "/members/", {"Cookie": sec_cookie})
    if status != 200:
        raise BenchError(f"/members/ as secretary: HTTP {status} {headers.get('Location')}")
    ids = re.findall(r'href="/members/(\d+)"', body.decode())
    if not ids:
        raise BenchError("no /members/<id> link on the secretary's member list")
    member_id = ids[0]
    q = urllib.parse.quote(SURNAME)
    pages = [
        {
            "label": "member list (secretary)",
            "kind": "list",
            "path": "/members/",
            "headers": {"Cookie": sec_cookie},
            "fragment": False,
        },
        {
            "label": f"search fragment q={SURNAME} (secretary)",
            "kind": "search",
            "path": f"/members/?q={q}",
            "headers": {"Cookie": sec_cookie, "HX-Request": "true"},
            "fragment": True,
        },
        {
            "label": f"profile /members/{member_id} (secretary)",
            "kind": "profile",
            "path": f"/members/{member_id}",
            "headers": {"Cookie": sec_cookie},
            "fragment": False,
        },
        {
            "label": "member list (township)",
            "kind": "list",
            "path": "/members/",
            "headers": {"Cookie": town_cookie},
            "fragment": False,
        },
    ]
    for page in pages:
        page.update(verify_page(app_port, page))
        print(f"  ok  {page['label']}: {page['bytes']} B, rows={page['total_rows']}")

    lua = tmp / "bench.lua"
    lua.write_text(WRK_LUA)

    if args.warmup > 0:
        print(f"warm-up: {args.warmup:g}s per URL", flush=True)
        wrk(args, lua, floor_port, "/", {}, args.warmup)
        for page in pages:
            wrk(args, lua, app_port, page["path"], page["headers"], args.warmup)

    # floor, A, floor, B, floor, C, floor, D, floor
    floors: list[dict] = []
    runs: list[dict] = []

    def floor_run():
        r = wrk(args, lua, floor_port, "/", {}, args.duration)
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
        r = wrk(args, lua, app_port, page["path"], page["headers"], args.duration)
        page["run"] = r
        runs.append({"label": page["label"], **r})
        print(
            f"  {page['label']}: {r['rps']:.1f} req/s p50 {r['p50_us'] / 1000:.1f} ms", flush=True
        )
        floor_run()

    # The sessions must still be good: a redirect to /login would have shown up as non-200
    # above, but check once more outside wrk.
    for cookie in (sec_cookie, town_cookie):
        status, headers, _ = fetch(app_port, "/members/", {"Cookie": cookie})
        if status != 200:
            raise BenchError(
                f"session lost after the runs: HTTP {status} {headers.get('Location')}"
            )

    wal_during = wal_bytes(db_path)
    stop_servers()
    wal_after = wal_bytes(db_path)

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
        r = page["run"]
        adjacent = (floors[i]["rps"] + floors[i + 1]["rps"]) / 2
        ratio = r["rps"] / adjacent
        target = TARGETS[page["kind"]]
        results.append(
            {
                "label": page["label"],
                "kind": page["kind"],
                "path": page["path"],
                "fragment": page["fragment"],
                "bytes": page["bytes"],
                "total_rows": page["total_rows"],
                "rps": r["rps"],
                "p50_ms": r["p50_us"] / 1000,
                "p99_ms": r["p99_us"] / 1000,
                "floor_rps": adjacent,
                "ratio": ratio,
                "target": target,
                "verdict": "pass" if ratio >= target else "FAIL",
                "socket_errors": {k: r[k] for k in r if k.startswith("err_")},
            }
        )
    all_pass = all(r["verdict"] == "pass" for r in results if r["target"] is not None)

    table = render_table(results)
    print()
    print(table)
    print()
    errors = sum(r[k] for r in runs for k in r if k.startswith("err_"))
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, gunicorn {args.workers} "
        f"sync workers, {args.members} members (DB {db_bytes / 1024 / 1024:.1f} MiB), "
        f"nproc={machine['nproc']}"
    )
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
    print(f"SQLite WAL after demo load: {fmt_size(wal_after_load)}")
    print(f"SQLite WAL at end of run (servers up): {fmt_size(wal_during)}")
    print(f"SQLite WAL after gunicorn stopped: {fmt_size(wal_after)}")
    print("result:", "all pages meet their targets" if all_pass else "SOME PAGES MISS THEIR TARGET")

    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "config": {
            "members": args.members,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "wrk_threads": args.threads,
            "wrk_connections": args.connections,
            "gunicorn_workers": args.workers,
            "gunicorn_recycle": args.recycle,
            "db_bytes": db_bytes,
            "surname": SURNAME,
            "profile_member_id": int(member_id),
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
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return report


if __name__ == "__main__":
    sys.exit(main())
