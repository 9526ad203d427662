"""Kill -9 the server in the middle of a stream of redemptions; nothing may be lost or doubled.

    .venv/bin/python bench/store_fault.py [--members 20000] [--kills 3]

Builds the demo database (as bench/store.py does; or copies one given with --db), serves
a copy of it with the project's gunicorn config (2 sync workers), and lets several client
threads (stdlib urllib, several clerk logins) redeem the cheapest goods item for many
members, each request with its own request_id. In the middle of the stream the gunicorn
master and its workers get SIGKILL (the whole process group); gunicorn is restarted on
the same database and port, and the clients carry on. A request whose answer never came
(connection refused or reset) is sent again with the same request_id, as a counter
clerk pressing the button again would. After --kills such cycles:

- every request_id that was answered 200 is in the redemptions table, with the receipt
  serial of that answer, and the answers before a kill were all committed before it;
- redemptions == distinct request_ids, one 'redeem' ledger entry per redemption, no row
  the clients never asked for, stock taken == units redeemed;
- replaying successful request_ids after the restarts returns the original receipt and
  adds no row (and the same request_id with other content is refused with 409);
- `flask points verify` exits 0 and PRAGMA integrity_check says ok.

Prints a short report and writes bench/out/store_fault.json. Exit status: 0 all checks
hold, 1 some check failed, 2 the bench itself failed (the temp dir is then kept).
"""

import argparse
import http.client
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from common import (
    RECEIPT,
    REPO,
    STOCK,
    BenchError,
    add_output_options,
    bench_env,
    clerk_session,
    code_version,
    db_scalar,
    free_port,
    gunicorn_config,
    load_demo,
    machine_notes,
    new_redemptions,
    now,
    points_verify,
    prepare_store,
    report_head,
    run_bench,
    start_gunicorn,
    stop_servers,
    store_counts,
    wait_ready,
    write_report,
)

OUT = REPO / "bench" / "out" / "store_fault.json"
# A request whose connection failed is retried this often (with the same request_id).
MAX_ATTEMPTS = 200


# --- the server: one port, restarted on it after each kill -----------------------------


class Server:
    def __init__(self, conf: Path, env: dict, tmp: Path, port: int):
        self.conf, self.env, self.tmp, self.port = conf, env, tmp, port
        self.proc: subprocess.Popen | None = None
        self.generation = 0

    def start(self) -> None:
        self.generation += 1
        # Its own process group (the master leads it, workers inherit it), registered
        # with stop_servers(), which cleans up on every exit path.
        self.proc, _, self.log = start_gunicorn(
            f"app-{self.generation}", "app:app", self.conf, self.env, self.tmp, [], self.port
        )
        wait_ready(self.proc, self.port, "/healthz", self.log)

    def kill9(self) -> dict:
        """SIGKILL to the master's whole process group; returns what was killed."""
        pgid = self.proc.pid
        members = group_members(pgid)
        os.killpg(pgid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while (alive := [p for p in group_members(pgid) if not is_zombie(p)]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        if alive:
            raise BenchError(f"processes of group {pgid} survived SIGKILL: {alive}")
        return {"pgid": pgid, "pids": members}

    def stop(self) -> None:
        stop_servers()


def group_members(pgid: int) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # fields after "(comm)": state, ppid, pgrp, …
                pids.append(int(d.name))
    return sorted(pids)


def is_zombie(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# --- the clients -----------------------------------------------------------------------


@dataclass
class Job:
    request_id: str
    member_id: int
    clerk: int
    attempts: int = 0
    first_sent: float = 0.0
    first_failure: float | None = None


@dataclass
class Stream:
    """Clerks redeeming: new requests, and failed ones again with the same request_id."""

    port: int
    clerks: list[tuple[str, str]]
    item_id: int
    slots: list[int]
    prefix: str
    next_slot: int = 0
    sent: list[Job] = field(default_factory=list)
    retry: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    ok: dict = field(default_factory=dict)  # request_id -> (serial, attempts, answered at)
    refused: dict = field(default_factory=dict)  # request_id -> (status, message)
    connection_errors: int = 0
    error_kinds: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)  # exceptions that ended a client thread
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def new_job(self) -> Job:
        with self.lock:
            if self.next_slot >= len(self.slots):
                raise BenchError("ran out of affordable member slots")
            n = self.next_slot
            self.next_slot += 1
            job = Job(f"{self.prefix}-{n:06d}-{random.getrandbits(24):06x}", self.slots[n],
                      n % len(self.clerks), first_sent=time.monotonic())  # fmt: skip
            self.sent.append(job)
            return job

    def attempt(self, job: Job, quantity: int = 1) -> tuple[int | None, str]:
        """One POST; (status, body), or (None, error) when no answer came."""
        cookie, csrf = self.clerks[job.clerk]
        body = urllib.parse.urlencode(
            {"member_id": job.member_id, "item_id": self.item_id, "quantity": quantity,
             "request_id": job.request_id}
        ).encode()  # fmt: skip
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/store/redeem", data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
                     "X-CSRFToken": csrf, "HX-Request": "true"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:  # noqa: S310 - 127.0.0.1
                return resp.status, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")
        except (OSError, http.client.HTTPException) as exc:
            # URLError wraps the socket error (refused while down, reset by the kill).
            reason = getattr(exc, "reason", exc)
            return None, type(reason).__name__

    def settle(self, job: Job) -> bool:
        """Send once; True when the answer is definite (200 or a refusal)."""
        job.attempts += 1
        status, body = self.attempt(job)
        if status is None:
            with self.lock:
                self.connection_errors += 1
                self.error_kinds[body] += 1
            if job.first_failure is None:
                job.first_failure = time.monotonic()
            if job.attempts >= MAX_ATTEMPTS:
                raise BenchError(f"{job.request_id}: no answer after {job.attempts} attempts")
            return False
        if status == 200:
            m = RECEIPT.search(body)
            if not m:
                raise BenchError(f"{job.request_id}: 200 without a receipt serial:\n{body[:500]}")
            with self.lock:
                self.ok[job.request_id] = (m.group(1), job.attempts, time.monotonic())
        else:
            with self.lock:
                self.refused[job.request_id] = (status, body[:300])
        return True

    def worker(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    job = self.retry.get_nowait()
                except queue.Empty:
                    job = self.new_job()
                if not self.settle(job):
                    self.retry.put(job)
                    time.sleep(0.05)  # the server is down: don't spin
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.failures.append(exc)
            self.stop.set()

    def drain(self) -> None:
        """After the stream: settle every request still without an answer."""
        while True:
            try:
                job = self.retry.get_nowait()
            except queue.Empty:
                return
            while not self.settle(job):
                time.sleep(0.1)


# --- the run ---------------------------------------------------------------------------


def run(args, tmp: Path) -> dict:
    started = now()
    print(f"commit {code_version()}, loadavg {os.getloadavg()}")
    rng = random.Random(args.seed)
    random.seed(args.seed)
    demo_db = tmp / "demo.db"
    env = bench_env(demo_db)
    if args.db:
        print(f"copying the demo database {args.db}")
        copy_db(Path(args.db), demo_db)
    else:
        load_demo(env, args.members)
    # The server gets a copy of the demo database (SQLite's online backup: consistent).
    db_path = tmp / "fault.db"
    copy_db(demo_db, db_path)
    env["BAOJING_SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
    shop = prepare_store(db_path, rng)
    rc, out = points_verify(env)
    if rc != 0:
        raise BenchError(f"flask points verify fails before the test ({rc}):\n{out}")
    before = store_counts(db_path)
    print(
        f"  served copy {db_path.name}: {before['redemptions']} redemptions; redeeming item "
        f"{shop['item_id']} 「{shop['name']}」 ({shop['price']} points) for {shop['members']} members"
    )

    conf = gunicorn_config(tmp, args.workers, recycle=False)
    server = Server(conf, env, tmp, free_port())
    server.start()
    print(f"gunicorn: :{server.port}, {args.workers} sync workers, pgid {server.proc.pid}")
    clerks = [clerk_session(server.port) for _ in range(args.clerks)]
    prefix = f"fault{int(time.time()) % 100000:05d}"
    stream = Stream(server.port, clerks, shop["item_id"], shop["slots"], prefix)

    threads = [
        threading.Thread(target=stream.worker, name=f"clerk-{i}", daemon=True)
        for i in range(args.threads)
    ]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    print(f"stream: {args.threads} client threads, {len(clerks)} clerk sessions")

    kills = []
    for cycle in range(1, args.kills + 1):
        wait = rng.uniform(0.6, 1.4) * args.before_kill
        time.sleep(wait)
        with stream.lock:
            answered_before = dict(stream.ok)
            sent_before = len(stream.sent)
        kill_started = time.monotonic()
        killed = server.kill9()
        killed_at = time.monotonic()
        # The database as the crash left it, read before anything else touches it.
        at_kill = store_counts(db_path)
        print(
            f"  kill {cycle}: {wait:.1f} s into the cycle, SIGKILL to process group "
            f"{killed['pgid']} ({len(killed['pids'])} processes); {len(answered_before)} "
            f"answered 200 so far, {sent_before} sent; DB holds "
            f"{at_kill['redemptions'] - before['redemptions']} new redemptions",
            flush=True,
        )
        time.sleep(args.down)
        server.start()
        print(
            f"  restart {cycle}: gunicorn up again on :{server.port} after "
            f"{time.monotonic() - killed_at:.1f} s",
            flush=True,
        )
        kills.append(
            {
                "cycle": cycle,
                "after_s": round(killed_at - t0, 2),
                "kill_started": kill_started,
                "pids": killed["pids"],
                "answered_before": answered_before,
                "sent_before": sent_before,
                "max_id_at_kill": at_kill["max_redemption_id"],
                "redemptions_at_kill": at_kill["redemptions"],
            }
        )
    time.sleep(args.after)
    stream.stop.set()
    for t in threads:
        t.join(timeout=60)
    if any(t.is_alive() for t in threads):
        raise BenchError("a client thread did not stop")
    if stream.failures:
        raise BenchError(f"a client thread failed: {stream.failures[0]!r}")
    stream.drain()
    stream_s = time.monotonic() - t0
    print(
        f"stream done: {len(stream.sent)} request_ids in {stream_s:.1f} s, "
        f"{len(stream.ok)} answered 200, {len(stream.refused)} refused, "
        f"{stream.connection_errors} attempts without an answer (retried): "
        f"{dict(stream.error_kinds)}",
        flush=True,
    )

    # Replays after the restarts: the same form again must give the same receipt.
    after_stream = store_counts(db_path)
    first_cycle = kills[0]["answered_before"] if kills else stream.ok
    pool = sorted(first_cycle) or sorted(stream.ok)
    sample = rng.sample(pool, min(args.replays, len(pool)))
    jobs = {j.request_id: j for j in stream.sent}
    replays = []
    for rid in sample:
        status, body = stream.attempt(jobs[rid])
        m = RECEIPT.search(body or "")
        replays.append(
            {
                "request_id": rid,
                "status": status,
                "serial": m.group(1) if m else None,
                "original": stream.ok[rid][0],
            }
        )
    conflict_status, _ = stream.attempt(jobs[sample[0]], quantity=2) if sample else (None, "")
    after_replay = store_counts(db_path)
    server.stop()

    checks, facts = check_db(db_path, before, stream, kills, shop)
    replay_same = sum(1 for r in replays if r["status"] == 200 and r["serial"] == r["original"])
    checks["replays return the original receipt"] = replay_same == len(replays) > 0
    checks["replays add no row"] = (
        after_replay["redemptions"] == after_stream["redemptions"]
        and after_replay["redeem_entries"] == after_stream["redeem_entries"]
    )
    checks["same request_id, other content → 409"] = conflict_status == 409
    verify_rc, verify_out = points_verify(env)
    checks["flask points verify exits 0"] = verify_rc == 0
    with closing(sqlite3.connect(db_path)) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    checks["PRAGMA integrity_check ok"] = integrity == "ok"
    logs = "".join(p.read_text(errors="replace") for p in sorted(tmp.glob("gunicorn-app-*.log")))
    facts["server_log_tracebacks"] = logs.count("Traceback")
    facts["server_log_database_locked"] = logs.count("database is locked")

    all_ok = all(checks.values())
    print()
    print(f"## kill -9 test: {args.kills} kills, {args.threads} client threads, 2 sync workers")
    print()
    for k in kills:
        print(
            f"- kill {k['cycle']} at {k['after_s']} s: {len(k['pids'])} processes killed; "
            f"{len(k['answered_before'])} answered 200 before it, all committed: "
            f"{facts['answered_before_kill_committed'][k['cycle'] - 1]}"
        )
    print(
        f"- request_ids sent {facts['request_ids_sent']}; answered 200 {facts['answered_200']}; "
        f"refused {facts['refused']}; answered only on a retry after a kill "
        f"{facts['answered_on_retry']}"
    )
    print(
        f"  of those, already committed before the kill (answer lost, retry returned the "
        f"original receipt) {facts['retry_found_committed']}, redeemed on the retry "
        f"{facts['retry_redeemed_new']}"
    )
    print(
        f"- new redemptions {facts['new_redemptions']}, distinct request_ids "
        f"{facts['distinct_request_ids']}, new 'redeem' entries {facts['new_redeem_entries']}, "
        f"redemptions without exactly one entry {facts['without_one_entry']}, rows nobody "
        f"asked for {facts['phantoms']}, answered 200 but missing {facts['answered_missing']}, "
        f"serial differs from the answer {facts['serial_mismatch']}"
    )
    print(f"- stock taken {facts['stock_taken']}, units redeemed {facts['units_redeemed']}")
    print(
        f"- replays of {len(replays)} answered request_ids: {replay_same} gave the original "
        f"receipt; rows before/after {after_stream['redemptions']}/{after_replay['redemptions']}; "
        f"same request_id with quantity 2 → {conflict_status}"
    )
    print(
        f"- flask points verify: exit {verify_rc} ({verify_out.splitlines()[-1] if verify_out else ''}); "
        f"integrity_check: {integrity}; server log: {facts['server_log_tracebacks']} tracebacks, "
        f"{facts['server_log_database_locked']} 'database is locked'"
    )
    print()
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    print("result:", "all checks hold" if all_ok else "SOME CHECKS FAILED")

    report = {
        **report_head(started, machine_notes(args) | {"commit": code_version()}),
        "config": {
            "members": args.members if not args.db else None,
            "db": args.db,
            "kills": args.kills,
            "threads": args.threads,
            "clerks": len(clerks),
            "workers": args.workers,
            "before_kill_s": args.before_kill,
            "down_s": args.down,
            "after_s": args.after,
            "seed": args.seed,
        },
        "kills": [
            {k: v for k, v in kill.items() if k != "answered_before"}
            | {"answered_before": len(kill["answered_before"])}
            for kill in kills
        ],
        "facts": facts,
        "replays": replays,
        "conflict_status": conflict_status,
        "verify_rc": verify_rc,
        "verify_out": verify_out[-2000:],
        "integrity_check": integrity,
        "checks": checks,
        "all_ok": all_ok,
    }
    write_report(args.out, report)
    return report


def check_db(db_path: Path, before: dict, stream: Stream, kills: list[dict], shop: dict):
    rows = new_redemptions(db_path, before["max_redemption_id"])
    by_rid = {r[2]: r for r in rows}
    sent = {j.request_id for j in stream.sent}
    after = store_counts(db_path)
    stock = db_scalar(db_path, "SELECT stock FROM catalog_items WHERE id = :id", id=shop["item_id"])
    answered_missing = [rid for rid in stream.ok if rid not in by_rid]
    serial_mismatch = [
        rid for rid, (serial, *_) in stream.ok.items() if rid in by_rid and by_rid[rid][1] != serial
    ]
    committed_per_kill = []
    for k in kills:
        # Answered before the kill → committed before it (its id is at most the max id then).
        committed_per_kill.append(
            all(
                rid in by_rid and by_rid[rid][0] <= k["max_id_at_kill"]
                for rid in k["answered_before"]
            )
        )
    # A request answered only on a retry: which kill interrupted it, and had it been
    # committed before that kill (the answer was lost) or not (redeemed on the retry)?
    jobs = {j.request_id: j for j in stream.sent}
    retried = {rid: v for rid, v in stream.ok.items() if v[1] > 1}
    found_committed = redeemed_new = 0
    for rid in retried:
        failed_at = jobs[rid].first_failure
        kill = max(
            (k for k in kills if k["kill_started"] <= failed_at),
            key=lambda k: k["kill_started"],
            default=None,
        )
        if kill is not None and rid in by_rid and by_rid[rid][0] <= kill["max_id_at_kill"]:
            found_committed += 1
        else:
            redeemed_new += 1
    facts = {
        "request_ids_sent": len(sent),
        "answered_200": len(stream.ok),
        "refused": len(stream.refused),
        "refused_examples": list(stream.refused.items())[:5],
        "attempts_without_answer": stream.connection_errors,
        "attempt_errors": dict(stream.error_kinds),
        "answered_on_retry": len(retried),
        "retry_found_committed": found_committed,
        "retry_redeemed_new": redeemed_new,
        "new_redemptions": after["redemptions"] - before["redemptions"],
        "distinct_request_ids": len(by_rid),
        "new_redeem_entries": after["redeem_entries"] - before["redeem_entries"],
        "without_one_entry": sum(1 for r in rows if r[5] != 1),
        "phantoms": sum(1 for r in rows if r[2] not in sent),
        "answered_missing": len(answered_missing),
        "serial_mismatch": len(serial_mismatch),
        "stock_taken": STOCK - stock,
        "units_redeemed": sum(r[4] for r in rows if r[3] == shop["item_id"]),
        "answered_before_kill_committed": committed_per_kill,
        "unanswered_request_ids": len(sent) - len(stream.ok) - len(stream.refused),
    }
    checks = {
        "every 200 answer is a stored redemption": not answered_missing,
        "stored serial == answered serial": not serial_mismatch,
        "answers before each kill were committed before it": all(committed_per_kill),
        "redemptions == distinct request_ids": facts["new_redemptions"] == len(by_rid) == len(rows),
        "one 'redeem' entry per redemption": facts["without_one_entry"] == 0
        and facts["new_redeem_entries"] == facts["new_redemptions"],
        "no row the clients did not ask for": facts["phantoms"] == 0,
        "every request_id settled, none refused": facts["unanswered_request_ids"] == 0
        and not stream.refused,
        "redemptions == 200 answers": facts["new_redemptions"] == len(stream.ok),
        "stock taken == units redeemed": facts["stock_taken"] == facts["units_redeemed"],
    }
    return checks, facts


def copy_db(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20000, help="demo members (default 20000)")
    parser.add_argument("--db", help="copy this demo database instead of building one")
    parser.add_argument("--kills", type=int, default=3, help="kill -9 / restart cycles")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--clerks", type=int, default=4, help="clerk logins")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--before-kill", type=float, default=2.0, help="seconds of stream before each kill (±40%%)"
    )
    parser.add_argument("--down", type=float, default=0.5, help="seconds the server stays down")
    parser.add_argument(
        "--after", type=float, default=2.0, help="seconds of stream after the last restart"
    )
    parser.add_argument("--replays", type=int, default=25, help="answered request_ids to replay")
    parser.add_argument("--seed", type=int, default=20200522)
    add_output_options(parser, OUT)  # --wrk for the machine notes
    args = parser.parse_args(argv)
    return run_bench(args, run, "baojing-bench-fault-", passed="all_ok")


if __name__ == "__main__":
    sys.exit(main())
