"""A county's roster going in: a 5,000-row .xlsx into a registry of 20,000 members.

    .venv/bin/python bench/roster.py                      # 20,000 demo members, 5,000 rows
    .venv/bin/python bench/roster.py --members 300 --rows 500   # a quick smoke run

Builds a throwaway demo database (bench/common.py), writes a roster file the way a county
keeps one (a title row, a merged heading, 5 % of rows already registered, 2 % faulty),
then runs `flask members import` on it twice, as a person would: --dry-run (the preview's
work: read the file, check every row against the org tree and the registry) and the real
import (the same checks again, batch by batch, and every member written and audited). Each
run is its own process: its wall time and peak memory (ru_maxrss via os.wait4) are its
own. Prints a table and writes bench/out/roster.json.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import xlsxwriter  # noqa: E402

from baojing.validators import id_check_char  # noqa: E402

# What the counter feels: how long one batch holds SQLite's write lock.
from bench import common  # noqa: E402

HEADINGS = ["序号", "姓名", "性别", "民族", "身份证号", "手机号码", "乡镇", "所在党支部",
            "入党时间", "外出时间", "外出地点", "务工单位", "从事行业"]  # fmt: skip


def _roster(path: Path, db_path: Path, rows: int, rng: random.Random) -> dict:
    villages = common.db_rows(
        db_path,
        "SELECT t.name, v.name FROM org_units v JOIN org_units t ON t.id = v.township_id "
        "WHERE v.kind = 'village'",
    )
    registered = [r[0] for r in common.db_rows(db_path, "SELECT id_number FROM members")]
    used = set(registered)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("花名册")
    sheet.merge_range(0, 0, 0, len(HEADINGS) - 1, "保靖县流动党员花名册")
    sheet.write_row(1, 0, HEADINGS)
    kinds = {"new": 0, "registered": 0, "faulty": 0}
    again = iter(rng.sample(registered, min(len(registered), rows // 10 + 1)))
    for n in range(rows):
        township, village = rng.choice(villages)
        roll = rng.random()
        if roll < 0.05:
            idn, kind = next(again), "registered"
        else:
            while True:
                birth = date(rng.randint(1965, 1998), rng.randint(1, 12), rng.randint(1, 28))
                first17 = f"433125{birth:%Y%m%d}{rng.randrange(1000):03d}"
                idn = first17 + id_check_char(first17)
                if idn not in used:
                    used.add(idn)
                    break
            kind = "new"
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        born = int(idn[6:10])
        joined = f"{rng.randint(born + 20, min(2024, born + 40))}.{rng.randint(1, 12):02d}"
        if 0.05 <= roll < 0.07:  # a wrong check digit or a short phone number
            idn, kind = (idn[:-1] + ("0" if idn[-1] != "0" else "1")), "faulty"
        sheet.write_row(2 + n, 0, [
            n + 1, rng.choice("彭向田龙石张王") + rng.choice("光明华军勇林平建国"), "",
            rng.choice(("土家族", "苗族", "汉族")), idn, phone, township, f"{village}党支部",
            joined, "2019.03", rng.choice(("浙江宁波", "广东深圳宝安区", "浙江省杭州市")),
            "某建工集团", "建筑业",
        ])  # fmt: skip
        kinds[kind] += 1
    book.close()
    return kinds


def _timed(env: dict, *args: str) -> tuple[float, int, str]:
    """(seconds, peak RSS in KiB, last line of output) of one `flask` command."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [common.venv_bin("flask"), *args], cwd=common.REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise common.BenchError(f"{' '.join(args)} failed:\n{output[-2000:]}")
    return seconds, usage.ru_maxrss, output.strip().splitlines()[-1]


def _lock_holds(db_path: Path, path: Path) -> dict:
    """Import a second roster in this process, timing each batch: parsing (no lock) and
    the part under the write lock (registry look-ups, inserts, audit rows, commit)."""
    from baojing import create_app
    from baojing.dates import local_today
    from baojing.db import writing
    from baojing.extensions import db
    from baojing.services.roster import checking, fields, jobs, reading

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
                      "SECRET_KEY": common.SECRET_KEY,
                      "UPLOAD_FOLDER": str(db_path.parent / "uploads")})  # fmt: skip
    parsed, locked = [], []
    with app.app_context(), writing():
        sheet = reading.read(path, "xlsx", 100_000)
        mapping = fields.guess_mapping(sheet.headings)
        importer, today, seen = jobs.Importer(None, None), local_today(), {}
        for start in range(0, len(sheet.rows), jobs.BATCH_ROWS):
            rows = sheet.rows[start : start + jobs.BATCH_ROWS]
            t0 = time.perf_counter()
            checking.parse_rows(rows, mapping, today, dict(seen))
            t1 = time.perf_counter()
            jobs.apply_batch(rows, mapping, importer, today, seen, {})
            db.session.commit()
            t2 = time.perf_counter()
            parsed.append(t1 - t0)
            locked.append((t2 - t1) - (t1 - t0))  # apply_batch parses again, before the lock
        db.session.remove()
    ms = lambda xs: round(1000 * xs, 1)  # noqa: E731
    return {"batch_rows": jobs.BATCH_ROWS, "parse_ms_median": ms(statistics.median(parsed)),
            "locked_ms_median": ms(statistics.median(locked)), "locked_ms_max": ms(max(locked))}  # fmt: skip


def run(args, tmp: Path) -> dict:
    db_path = tmp / "bench.db"
    env = common.bench_env(db_path)
    common.load_demo(env, args.members)
    path = tmp / "花名册.xlsx"
    kinds = _roster(path, db_path, args.rows, random.Random(20200522))
    print(f"roster: {args.rows} rows {kinds}, {path.stat().st_size / 1024:.0f} KiB", flush=True)
    before = common.db_scalar(db_path, "SELECT count(*) FROM members")
    results = []
    for label, extra in (("dry run (the preview's checks)", ["--dry-run"]), ("import", [])):
        seconds, rss, last = _timed(env, "members", "import", str(path), *extra)
        results.append({"run": label, "seconds": seconds, "rows_per_s": args.rows / seconds,
                        "peak_rss_mib": rss / 1024, "result": last})  # fmt: skip
    after = common.db_scalar(db_path, "SELECT count(*) FROM members")
    audits = common.db_scalar(
        db_path,
        "SELECT count(*) FROM audit_log WHERE action = 'member.create' AND username = 'cli'",
    )
    print(
        f"\n{args.rows} rows into {before} members ({common.machine_line(common.machine_notes(args))})\n"
    )
    print("| run | seconds | rows/s | peak RSS | result |")
    print("|---|---:|---:|---:|---|")
    for r in results:
        print(f"| {r['run']} | {r['seconds']:.1f} | {r['rows_per_s']:.0f} | "
              f"{r['peak_rss_mib']:.0f} MiB | {r['result']} |")  # fmt: skip
    print(f"\nmembers {before} → {after}; member.create audit rows by the importer: {audits}")
    second = tmp / "第二份.xlsx"
    _roster(second, db_path, args.rows, random.Random(7))
    holds = _lock_holds(db_path, second)
    print(f"write lock per batch of {holds['batch_rows']} rows: parse {holds['parse_ms_median']} ms "
          f"(no lock), held {holds['locked_ms_median']} ms median, {holds['locked_ms_max']} ms max")  # fmt: skip
    report = {
        **common.report_head(common.now(), common.machine_notes(args)),
        "rows": args.rows, "members": before, "kinds": kinds, "results": results, "lock": holds,
        "created": after - before,
        "passed": after - before == kinds["new"] and audits == kinds["new"],
    }  # fmt: skip
    common.write_report(args.out, report)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20000)
    parser.add_argument("--rows", type=int, default=5000)
    common.add_output_options(parser, common.REPO / "bench" / "out" / "roster.json")
    args = parser.parse_args()
    return common.run_bench(args, run, "baojing-roster-", "passed")


if __name__ == "__main__":
    sys.exit(main())
