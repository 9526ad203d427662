"""Benchmark the member list's .xlsx export: time and memory of a 20,000-row download.

    .venv/bin/python bench/exports.py [--members 20000] [--runs 3]

Set-up as the other benches (bench/common.py: a fresh SQLite demo database in a temp
directory, `flask db upgrade`, `flask demo load --members N`, a fixed secret key). Then each
export is measured in a child process of its own, so that its peak RSS (ru_maxrss) is that
export's and nothing else's: the child creates the app, logs in through the real form (Flask
test client, no HTTP server), makes one small export to load everything (xlsxwriter,
compiled SQL), notes its peak RSS, then downloads the export --runs times (the body read
in chunks and saved, as a server would stream it) and notes the peak again; one more run
under tracemalloc gives Python's own peak. Exports: the township (迁陵镇, about a twelfth of
the county), the county admin's whole list, and the county's with full ID numbers. "Peak
RSS" is the child's ru_maxrss after the timed runs (the app loaded, logged in); "RSS growth"
is how far the timed runs pushed it above what it was after the small export.

Prints a table and writes bench/out/exports.json. Exit status 0 when the county's file holds
every active member and its tracemalloc peak is below 1.5 × the township's (rows streamed,
not held: memory is bounded by the chunk of exports.CHUNK_ROWS rows read at a time, so the
check applies once the township's export is at least one chunk long, from about 12,000
demo members), 1 otherwise, 2 when the bench itself failed.
"""

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from common import (
    PASSWORD,
    REPO,
    BenchError,
    bench_env,
    code_version,
    db_scalar,
    load_demo,
    now,
    run_bench,
    write_report,
)

from baojing.services.exports import CHUNK_ROWS

OUT = REPO / "bench" / "out" / "exports.json"
EXPORTS = [
    # (label, user, URL)
    ("township 迁陵镇", "township", "/members/export.xlsx"),
    ("county", "admin", "/members/export.xlsx"),
    ("county, full IDs", "admin", "/members/export.xlsx?full_id=1"),
]
WARM_URL = "/members/export.xlsx?q=向光明"  # a few rows: loads the code, fills the caches


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20000, help="demo members (default 20000)")
    parser.add_argument("--runs", type=int, default=3, help="timed downloads per export")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dir and its DB")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--child", nargs=2, metavar=("USER", "URL"), help=argparse.SUPPRESS)
    parser.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args)
    return run_bench(args, run, "baojing-bench-exports-", passed="passed")


def run(args, tmp: Path) -> dict:
    started = now()
    db_path = tmp / "bench.db"
    env = bench_env(db_path)
    load_demo(env, args.members)
    active = db_scalar(db_path, "SELECT count(*) FROM members WHERE status = 'active'")
    print(f"  {active:,} active members", flush=True)

    results = []
    for label, user, url in EXPORTS:
        print(f"measuring: {label} ({user} GET {url}), {args.runs} runs", flush=True)
        r = run_child(env, tmp, user, url, args.runs)
        r["label"] = label
        results.append(r)
        print(
            f"  {r['rows']:,} rows, median {r['median_s']:.2f} s, "
            f"RSS +{r['rss_growth_kib'] / 1024:.1f} MiB, tracemalloc {r['tracemalloc_peak'] / 1024:.0f} KiB",
            flush=True,
        )  # fmt: skip

    township, county = results[0], results[1]
    all_rows = county["rows"] == active and results[2]["rows"] == active
    ratio = county["tracemalloc_peak"] / township["tracemalloc_peak"]
    # Below one chunk the township's export holds fewer rows at a time than the county's.
    applies = township["rows"] >= CHUNK_ROWS
    flat = ratio < 1.5 or not applies
    print()
    print(render(results))
    print()
    print(f"county export holds every active member ({active:,}): {'yes' if all_rows else 'NO'}")
    verdict = "flat" if ratio < 1.5 else "GROWS WITH THE LIST"
    if not applies:
        verdict = f"not checked: the township's export is under one chunk of {CHUNK_ROWS:,} rows"
    print(
        f"tracemalloc peak, county vs township ({county['rows']:,} vs {township['rows']:,} rows): "
        f"{ratio:.2f}× ({verdict}; limit 1.5×)"
    )
    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": started,
        "finished": now(),
        "commit": code_version(),
        "members": args.members,
        "active_members": active,
        "runs": args.runs,
        "results": results,
        "passed": all_rows and flat,
    }
    write_report(args.out, report)
    return report


def render(results: list[dict]) -> str:
    lines = [
        "| export | rows | median s | rows/s | file KiB | peak RSS MiB | RSS growth MiB "
        "| tracemalloc peak KiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {r['rows']:,} | {r['median_s']:.2f} | "
            f"{r['rows'] / r['median_s']:,.0f} | {r['bytes'] / 1024:,.0f} | "
            f"{r['maxrss_after_kib'] / 1024:.1f} | {r['rss_growth_kib'] / 1024:.1f} | "
            f"{r['tracemalloc_peak'] / 1024:,.0f} |"
        )
    return "\n".join(lines)


def run_child(env: dict, tmp: Path, user: str, url: str, runs: int) -> dict:
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--child", user, url,
        "--runs", str(runs), "--tmp", str(tmp),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=3600)
    m = re.search(r"^CHILD_JSON (\{.*\})$", proc.stdout, re.M)
    if proc.returncode != 0 or not m:
        raise BenchError(
            f"child {user} {url} failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    return json.loads(m.group(1))


# --- the child: one export, measured in a process of its own -------------------------------


def child_main(args) -> int:
    from baojing import create_app

    user, url = args.child
    app = create_app()
    client = app.test_client()
    _login(client, user)
    saved = args.tmp / f"export-{user}.xlsx"
    _download(client, WARM_URL, saved)
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        size = _download(client, url, saved)
        times.append(time.perf_counter() - started)
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    _download(client, url, saved)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(saved)).get_sheet_by_index(0).height - 1
    out = {
        "user": user,
        "url": url,
        "rows": rows,
        "bytes": size,
        "times_s": times,
        "median_s": statistics.median(times),
        "maxrss_before_kib": maxrss_before,
        "maxrss_after_kib": maxrss_after,
        "rss_growth_kib": maxrss_after - maxrss_before,
        "tracemalloc_peak": traced_peak,
    }
    print("CHILD_JSON " + json.dumps(out, ensure_ascii=False), flush=True)
    return 0


def _login(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
        raise BenchError(f"login as {username} failed: HTTP {response.status_code}")


def _download(client, url: str, path: Path) -> int:
    """GET an export and save its body chunk by chunk, as a server streams it; its size."""
    response = client.get(url, buffered=False)
    if response.status_code != 200:
        raise BenchError(f"GET {url}: HTTP {response.status_code}")
    size = 0
    with path.open("wb") as fh:
        for chunk in response.iter_encoded():
            fh.write(chunk)
            size += len(chunk)
    response.close()
    return size


if __name__ == "__main__":
    sys.exit(main())
