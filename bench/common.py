"""What bench/members.py, bench/store.py and bench/store_fault.py share.

The three benches build the same throwaway demo database, serve it with the same gunicorn
set-up, log in through the same form and report in the same shape; keeping those steps here
means a fix to one of them (a stray gunicorn left behind, a login that quietly fails) reaches
every bench, and the numbers of different benches stay comparable. See bench/README.md.

The database is SQLite by default; members.py and store.py also run on PostgreSQL
(--engine postgresql), on a database made for the run. Every read of the database outside
the app goes through SQLAlchemy (db_rows, db_scalar, db_execute) with :named parameters, so
the same SQL serves both engines.
"""

import http.client
import http.cookiejar
import json
import os
import platform
import random
import re
import secrets
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
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parent.parent
# The servers run this checkout's code (their working directory is REPO); what a bench
# runs in-process (query plans, statement timings) must too, not whatever copy of the
# package the virtualenv happens to have installed (a second checkout's, say).
sys.path.insert(0, str(REPO))

from baojing.demo import DEMO_PASSWORD as PASSWORD  # noqa: E402 - "baojing-demo-2020"

SECRET_KEY = "bench-only-secret-key-0123456789abcdef"  # noqa: S105 - throwaway DB
# The cheapest goods item of the demo catalogue (洗衣液 2 瓶, 30 points); its stock is set
# to STOCK before the servers start so that stock never runs out during the bench.
STOCK = 10_000_000
RECEIPT = re.compile(r"小票号 <strong>(JF\d{8}-\d{6,})</strong>")
ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# The URL template tools/with-postgresql exports (and tests/conftest.py reads): a literal
# {name} stands for the database.
POSTGRESQL_URL = "BAOJING_TEST_POSTGRESQL"


class BenchError(RuntimeError):
    """The bench itself failed (not the app's numbers): exit status 2, temp dir kept."""


# --- command line and exit paths -------------------------------------------------------


def add_load_options(parser) -> None:
    """--members … --connections: the same defaults in every wrk bench, so that their
    numbers compare (the same database size and the same load)."""
    parser.add_argument("--members", type=int, default=20000, help="demo members (default 20000)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk warm-up per URL")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c")


def add_recycle_option(parser) -> None:
    """--recycle: off by default because recycling a worker mid-run costs the fast floor far
    more than the pages and would skew the ratios (see bench/README.md)."""
    parser.add_argument(
        "--recycle",
        action="store_true",
        help="keep gunicorn.conf.py's max_requests worker recycling (off by default)",
    )


def add_output_options(parser, out: Path, per_engine: bool = False) -> None:
    """--wrk, --keep-tmp, --out: every bench names wrk in its machine notes, may keep its
    temp dir for inspection and writes a JSON report.

    per_engine adds --engine; --out's default is then settled by check_engine() after
    parsing, because it depends on the engine.
    """
    parser.add_argument("--wrk", default=shutil.which("wrk") or "/usr/bin/wrk")
    parser.add_argument(
        "--keep-tmp",
        action="store_true",
        help="keep the temp dir and the database (a PostgreSQL one too)",
    )
    if not per_engine:
        parser.add_argument("--out", type=Path, default=out)
        return
    parser.add_argument(
        "--engine",
        choices=sorted(ENGINES),
        default="sqlite",
        help=f"database engine (default sqlite); postgresql needs {POSTGRESQL_URL}, "
        "e.g. tools/with-postgresql .venv/bin/python bench/... --engine postgresql",
    )
    names = f"{out.name}, or {engine_out(out, 'postgresql').name} with --engine postgresql"
    parser.add_argument("--out", type=Path, help=f"JSON report (default bench/out/{names})")


def engine_out(out: Path, engine: str) -> Path:
    """The report of a run on `engine`: SQLite keeps the plain name (earlier reports and
    docs point at it); another engine gets its own file, so the runs to compare don't
    overwrite each other."""
    return out if engine == "sqlite" else out.with_name(f"{out.stem}-{engine}{out.suffix}")


def check_engine(parser, args, out: Path) -> None:
    """After parse_args (with add_output_options(per_engine=True)): refuse PostgreSQL
    without a server to make the database on, before anything is built; settle --out."""
    if args.engine == "postgresql" and "{name}" not in os.environ.get(POSTGRESQL_URL, ""):
        parser.error(
            f"--engine postgresql needs {POSTGRESQL_URL}, a URL template with {{name}}: "
            "run the bench under tools/with-postgresql"
        )
    if args.out is None:
        args.out = engine_out(out, args.engine)


def run_bench(args, run: Callable, tmp_prefix: str, passed: str) -> int:
    """Call run(args, tmp) in a fresh temp dir and return the exit status.

    One exit path for every bench, so that gunicorn never outlives it (SIGTERM and SIGHUP
    included) and a failure leaves what is needed to see why: 0 when the report's `passed`
    key is true, 1 when it is false, 2 when the bench itself failed (BenchError; the tail of
    each gunicorn log is printed and the temp dir kept).
    """
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    # A failed run keeps its temp dir, but a PostgreSQL database lives in a server that may
    # outlast the run (and fill up with big demo databases): only --keep-tmp keeps it.
    keep_database = args.keep_tmp
    tmp = Path(tempfile.mkdtemp(prefix=tmp_prefix))
    try:
        report = run(args, tmp)
        return 0 if report[passed] else 1
    except BenchError as exc:
        print(f"\nBENCH FAILED: {exc}", file=sys.stderr)
        for log in sorted(tmp.glob("gunicorn-*.log")):
            tail = log.read_text(errors="replace")[-2000:]
            if tail.strip():
                print(f"\n--- tail of {log.name} ---\n{tail}", file=sys.stderr)
        args.keep_tmp = True
        return 2
    finally:
        stop_servers()  # first: the app's connections would hold the database
        drop_databases(keep=keep_database)
        if args.keep_tmp:
            print(f"temp dir kept: {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _on_signal(signum, _frame):
    # SystemExit unwinds through run_bench's `finally`, which stops the servers.
    raise SystemExit(128 + signum)


# --- the bench's database --------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """Where a bench's demo lives: a SQLite file in the temp dir, or a PostgreSQL database
    made for the run (dropped at the end by run_bench). `folder` is the temp dir either
    way: the demo's uploads go there."""

    engine: str  # a key of ENGINES
    uri: str  # what the app gets as BAOJING_SQLALCHEMY_DATABASE_URI
    folder: Path
    path: Path | None = None  # SQLite's file
    name: str | None = None  # PostgreSQL's database

    @property
    def label(self) -> str:
        return ENGINES[self.engine]


# PostgreSQL databases made by this process, for drop_databases() on every exit path.
_databases: list[Database] = []


def sqlite_database(path: Path) -> Database:
    return Database("sqlite", f"sqlite:///{path}", path.parent, path=path)  # absolute: ////tmp


def as_database(db: Database | Path) -> Database:
    """The SQLite-only benches (care, mentors, store_fault …) pass their database file."""
    return db if isinstance(db, Database) else sqlite_database(db)


def open_database(args, tmp: Path) -> Database:
    """The run's empty database on args.engine (see check_engine)."""
    if args.engine == "sqlite":
        return sqlite_database(tmp / "bench.db")
    return create_postgresql_database(tmp)


def create_postgresql_database(tmp: Path) -> Database:
    """A fresh database on the server of BAOJING_TEST_POSTGRESQL, registered for dropping.

    UTF8 with the C.UTF-8 collation whatever the server's default: names then sort and
    match by code point, as on SQLite and as tools/with-postgresql's cluster does, so
    member searches stay ranges on their index. template0 because a collation other than
    template1's may only be chosen from it.
    """
    name = f"baojing_bench_{secrets.token_hex(6)}"
    with _postgresql_admin() as admin:
        admin.execute(
            text(
                f"CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0 "
                "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
            )
        )
    db = Database("postgresql", os.environ[POSTGRESQL_URL].format(name=name), tmp, name=name)
    _databases.append(db)
    print(f"PostgreSQL database {name}", flush=True)
    return db


def _postgresql_admin():
    """A connection to the server's own database, for CREATE and DROP DATABASE (which
    cannot run in a transaction: autocommit)."""
    url = os.environ[POSTGRESQL_URL].format(name="postgres")
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool).connect()


def drop_databases(keep: bool) -> None:
    """Drop the PostgreSQL databases of this run (after stop_servers); with keep, say where
    they are instead."""
    while _databases:
        db = _databases.pop()
        if keep:
            print(f"PostgreSQL database kept: {db.uri}", file=sys.stderr)
            continue
        try:
            with _postgresql_admin() as admin:
                # FORCE: a connection left open (a gunicorn worker that outlived its
                # master) must not keep the database.
                admin.execute(text(f"DROP DATABASE IF EXISTS {db.name} WITH (FORCE)"))
        except SQLAlchemyError as exc:  # report it, but don't hide why the run ended
            print(f"could not drop PostgreSQL database {db.name}: {exc}", file=sys.stderr)


@cache
def _engine(uri: str) -> Engine:
    """One engine per database, without a pool: no connection of the bench stays open
    between reads. On SQLite the last connection to close checkpoints the WAL (whose size
    is reported), and a DROP DATABASE must not meet an idle connection of ours."""
    connect_args = {"timeout": 30} if uri.startswith("sqlite") else {}
    return create_engine(uri, poolclass=NullPool, connect_args=connect_args)


def db_rows(db: Database | Path, sql: str, **params) -> list[tuple]:
    """Read the database outside the server (it must be stopped or idle for exact counts).
    `sql` takes :named parameters, which SQLAlchemy turns into each driver's own style."""
    with _engine(as_database(db).uri).connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


def db_scalar(db: Database | Path, sql: str, **params):
    return db_rows(db, sql, **params)[0][0]


def db_execute(db: Database | Path, sql: str, **params) -> None:
    """One write, committed."""
    with _engine(as_database(db).uri).begin() as conn:
        conn.execute(text(sql), params)


def analyze(db: Database) -> None:
    """On PostgreSQL, VACUUM ANALYZE after the demo load: autovacuum would do it a minute
    or so later, i.e. in the middle of the measured runs, and the planner would change its
    plans then. A database in use has been vacuumed and analysed long since. SQLite keeps
    no such statistics unless asked (the app does not), so there is nothing to do there."""
    if db.engine != "postgresql":
        return
    started = time.perf_counter()
    with _engine(db.uri).execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    print(f"VACUUM (ANALYZE) ({time.perf_counter() - started:.1f} s)", flush=True)


def server_version(db: Database) -> str | None:
    """PostgreSQL's version for the machine notes (None on SQLite, whose library version
    the notes carry anyway)."""
    if db.engine != "postgresql":
        return None
    return db_scalar(db, "SHOW server_version")


# --- the demo database -----------------------------------------------------------------


def venv_bin(name: str) -> str:
    for candidate in (Path(sys.executable).parent / name, REPO / ".venv" / "bin" / name):
        if candidate.exists():
            return str(candidate)
    raise BenchError(f"{name} not found next to {sys.executable} or in .venv/bin")


def bench_env(db: Database | Path) -> dict:
    """The environment of `flask` and gunicorn: the bench's database and a fixed secret
    key, with nothing from the caller's shell that would point the app elsewhere."""
    db = as_database(db)
    env = dict(os.environ)
    env.update(
        BAOJING_SQLALCHEMY_DATABASE_URI=db.uri,
        BAOJING_SECRET_KEY=SECRET_KEY,
        # The demo's certificate PDFs and photos go into the temp dir, never into the
        # developer's instance/uploads.
        BAOJING_UPLOAD_FOLDER=str(db.folder / "uploads"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    for var in ("FLASK_APP", "FLASK_DEBUG", "BAOJING_BIND", "BAOJING_WORKERS"):
        env.pop(var, None)
    return env


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


def load_demo(env: dict, members: int) -> None:
    """A fresh schema and the demo data, through the app's own commands (as a user would)."""
    run_flask(env, "db", "upgrade")
    run_flask(env, "demo", "load", "--members", str(members))


def wal_bytes(db: Database | Path) -> int | None:
    """The SQLite WAL file's size; None when there is none, and always on PostgreSQL."""
    db = as_database(db)
    if db.path is None:
        return None
    wal = Path(f"{db.path}-wal")
    return wal.stat().st_size if wal.exists() else None


def db_size(db: Database | Path) -> tuple[int | None, int]:
    """(WAL bytes, database bytes): right after the load the data may still be in the WAL,
    so SQLite's size counts both. PostgreSQL's is pg_database_size (its WAL is the
    server's, not the database's: None)."""
    db = as_database(db)
    if db.path is None:
        return None, db_scalar(db, "SELECT pg_database_size(current_database())")
    wal = wal_bytes(db)
    return wal, db.path.stat().st_size + (wal or 0)


def fmt_size(n: int | None) -> str:
    if n is None:
        return "no WAL file"
    return f"{n} B ({n / 1024 / 1024:.2f} MiB)"


def print_wal(
    after_load: int | None, during: int | None, after: int | None, engine: str = "sqlite"
) -> None:
    """The WAL sizes at the three moments every bench reports them (SQLite only)."""
    if engine != "sqlite":
        print(f"SQLite WAL: n/a on {ENGINES[engine]}")
        return
    print(f"SQLite WAL after demo load: {fmt_size(after_load)}")
    print(f"SQLite WAL at end of run (servers up): {fmt_size(during)}")
    print(f"SQLite WAL after gunicorn stopped: {fmt_size(after)}")


def points_verify(env: dict) -> tuple[int, str]:
    """`flask points verify`: the app's own check that balances match the ledger."""
    proc = subprocess.run(
        [venv_bin("flask"), "points", "verify"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return proc.returncode, (proc.stdout + proc.stderr).strip()


# --- the points store ------------------------------------------------------------------


def prepare_store(db: Database | Path, rng: random.Random) -> dict:
    """Pick the cheapest goods item, give it a stock that cannot run out, and list the
    members who can afford it: one line per redemption each can pay for, interleaved."""
    item_id, price, name = db_rows(
        db,
        "SELECT id, price, name FROM catalog_items WHERE kind = 'goods' AND active "
        "AND stock IS NOT NULL ORDER BY price, id LIMIT 1",
    )[0]
    db_execute(
        db, "UPDATE catalog_items SET stock = :stock WHERE id = :id", stock=STOCK, id=item_id
    )
    # Integer division on both engines (balance and price are integers on both).
    funded = db_rows(
        db,
        "SELECT a.member_id, a.balance / :price FROM point_accounts a JOIN members m "
        "ON m.id = a.member_id WHERE m.status = 'active' AND a.balance >= :price",
        price=price,
    )
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


def store_counts(db: Database | Path) -> dict:
    """Counts taken before and after a run: the difference is what the run stored."""
    return {
        "redemptions": db_scalar(db, "SELECT count(*) FROM redemptions"),
        "redeem_entries": db_scalar(db, "SELECT count(*) FROM point_entries WHERE kind = 'redeem'"),
        "max_redemption_id": db_scalar(db, "SELECT coalesce(max(id), 0) FROM redemptions"),
    }


def new_redemptions(db: Database | Path, after_id: int) -> list[tuple]:
    """Redemptions with an id above after_id, each as (id, serial, request_id, item_id,
    quantity, number of its 'redeem' ledger entries): what both store benches check."""
    return db_rows(
        db,
        "SELECT r.id, r.serial, r.request_id, r.item_id, r.quantity, "
        "(SELECT count(*) FROM point_entries e WHERE e.redemption_id = r.id "
        " AND e.kind = 'redeem') FROM redemptions r WHERE r.id > :after_id",
        after_id=after_id,
    )


# --- gunicorn --------------------------------------------------------------------------

_servers: list[subprocess.Popen] = []


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
    name: str, app: str, conf: Path, env: dict, tmp: Path, extra: list[str], port: int = 0
) -> tuple[subprocess.Popen, int, Path]:
    """Start gunicorn in its own process group (on a free port unless one is given) and
    register it with stop_servers(), which every exit path calls."""
    port = port or free_port()
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


def start_app_and_floor(args, env: dict, tmp: Path) -> tuple[int, int]:
    """Serve the app and bench/floor_app.py under the same config; return their ports.

    The floor is a bare Flask app with one route: the same gunicorn, Flask and HTTP round
    trip, so a page's ratio to it measures what the app itself costs.
    """
    conf = gunicorn_config(tmp, args.workers, args.recycle)
    app_proc, app_port, app_log = start_gunicorn("app", "app:app", conf, env, tmp, [])
    floor_proc, floor_port, floor_log = start_gunicorn(
        "floor", "floor_app:app", conf, env, tmp, ["--pythonpath", str(REPO / "bench")]
    )
    wait_ready(app_proc, app_port, "/healthz", app_log)
    wait_ready(floor_proc, floor_port, "/", floor_log)
    print(f"gunicorn: app on :{app_port}, floor on :{floor_port}, {args.workers} sync workers")
    return app_port, floor_port


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


def csrf_token(page: str, where: str) -> str:
    """The token of the page's <meta name=csrf-token>, which forms and htmx posts send."""
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    if not m:
        raise BenchError(f"no <meta name=csrf-token> on {where}")
    return m.group(1)


def login(port: int, username: str) -> str:
    """Log in through the real form; return the Cookie header value for wrk."""
    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/login", timeout=30) as resp:
        page = resp.read().decode()
    form = urllib.parse.urlencode(
        {"username": username, "password": PASSWORD, "csrf_token": csrf_token(page, "/login")}
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


def clerk_session(port: int, username: str = "clerk") -> tuple[str, str]:
    """(Cookie header, CSRF token) of a fresh login; the token is read after the login."""
    cookie = login(port, username)
    status, headers, body = fetch(port, "/store/counter", {"Cookie": cookie})
    if status != 200:
        raise BenchError(f"/store/counter as {username}: HTTP {status} {headers.get('Location')}")
    return cookie, csrf_token(body.decode(), "/store/counter")


# --- wrk -------------------------------------------------------------------------------


def run_wrk(
    args, lua: Path, port: int, path: str, duration: int,
    headers: dict | None = None, options: tuple = (), grace: int = 60,
) -> tuple[dict, str]:  # fmt: skip
    """Run wrk with a Lua script whose done() prints one `BENCH_JSON {…}` line; return
    that line's stats and wrk's stdout.

    The Lua hooks, not wrk's summary, are the source of the numbers: wrk's own
    "Non-2xx or 3xx" count misses redirects, and a 302 to /login would pass for a very
    fast page. A run that made no request at all is an error, not a zero.
    """
    cmd = [
        args.wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s",
        *options, "--latency", "-s", str(lua),
    ]  # fmt: skip
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + grace)
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}): {proc.stderr}{proc.stdout}")
    m = re.search(r"^BENCH_JSON (\{.*\})$", proc.stdout, re.M)
    if not m:
        raise BenchError(f"no BENCH_JSON line in wrk output:\n{proc.stdout}{proc.stderr}")
    r = json.loads(m.group(1))
    if r["requests"] == 0:
        raise BenchError(f"wrk made no requests to {path}:\n{proc.stdout}")
    return r, proc.stdout


def per_second(r: dict, count: str = "requests") -> float:
    return r[count] / (r["duration_us"] / 1e6)


def measure_alternating(
    args, pages: list[dict], floor: Callable, measure: Callable
) -> tuple[list[dict], list[dict], list[dict]]:
    """wrk runs in the order floor, page 1, floor, page 2, … floor.

    A page's ratio then uses the two floor runs next to it, taken within seconds of it: the
    machine's load drifts during a bench, and one floor figure for all pages would blur that
    drift into the ratios. floor(duration) and measure(page, duration) run wrk and return
    its stats. Returns (floor runs, every run labelled in order, each page's run).
    """
    floors: list[dict] = []
    runs: list[dict] = []
    measured: list[dict] = []

    def floor_run():
        r = floor(args.duration)
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
        r = measure(page, args.duration)
        measured.append(r)
        runs.append({"label": page["label"], **r})
        print(
            f"  {page['label']}: {r['rps']:.1f} req/s p50 {r['p50_us'] / 1000:.1f} ms", flush=True
        )
        floor_run()
    return floors, runs, measured


def adjacent_floor(floors: list[dict], i: int) -> float:
    """The floor of page i: the mean of the floor runs just before and after it."""
    return (floors[i]["rps"] + floors[i + 1]["rps"]) / 2


def floor_result(floors: list[dict]) -> dict:
    """The table's first row: the floor over all its runs, for scale (it has no target)."""
    return {
        "label": "floor (bare Flask, mean of all runs)",
        "kind": "floor",
        "rps": sum(f["rps"] for f in floors) / len(floors),
        "p50_ms": sum(f["p50_us"] for f in floors) / len(floors) / 1000,
        "p99_ms": sum(f["p99_us"] for f in floors) / len(floors) / 1000,
        "ratio": None,
        "target": None,
        "verdict": "",
    }


def socket_errors(r: dict) -> dict:
    return {k: r[k] for k in r if k.startswith("err_")}


def page_results(
    pages: list[dict], measured: list[dict], floors: list[dict], targets: dict, keep: tuple,
    rps_of=lambda page, r: r["rps"],
) -> list[dict]:  # fmt: skip
    """The table: the floor, then each page against the floor runs beside it.

    pages[i]["kind"] picks the target (None: reported, no verdict); `keep` names the
    page's own fields (bytes, rows shown …) copied into its row; `rps_of` what counts
    as done per second (the store counts redemptions answered 200, not requests).
    """
    results = [floor_result(floors)]
    for i, (page, r) in enumerate(zip(pages, measured, strict=True)):
        adjacent = adjacent_floor(floors, i)
        rps = rps_of(page, r)
        ratio = rps / adjacent
        target = targets[page["kind"]]
        results.append(
            {
                "label": page["label"],
                "kind": page["kind"],
                "path": page.get("path"),
                **{key: page[key] for key in keep},
                "rps": rps,
                "p50_ms": r["p50_us"] / 1000,
                "p99_ms": r["p99_us"] / 1000,
                "floor_rps": adjacent,
                "ratio": ratio,
                "target": target,
                "verdict": "report" if target is None else ("pass" if ratio >= target else "FAIL"),
                "socket_errors": socket_errors(r),
            }
        )
    return results


def targets_met(results: list[dict]) -> bool:
    return all(r["verdict"] == "pass" for r in results if r["target"] is not None)


def sessions_still_good(port: int, path: str, cookies) -> None:
    """A redirect to /login would have shown up as non-200 in wrk; check once more outside it."""
    for cookie in cookies:
        status, headers, _ = fetch(port, path, {"Cookie": cookie})
        if status != 200:
            raise BenchError(
                f"session lost after the runs: HTTP {status} {headers.get('Location')}"
            )


def start_run(args, db: Database | None = None) -> tuple[str, dict]:
    """(start time, machine notes with the commit), after checking wrk is there; printed.
    With db, the notes name its engine's version."""
    if not Path(args.wrk).exists():
        raise BenchError(f"wrk not found at {args.wrk}")
    started = now()
    machine = machine_notes(args, db)
    machine["commit"] = code_version()
    print(machine_line(machine) + f", commit {machine['commit']}", flush=True)
    return started, machine


# --- the report ------------------------------------------------------------------------


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def machine_notes(args, db: Database | None = None) -> dict:
    """What the numbers depend on besides the code: CPUs, versions, the load before.

    The SQLite library's version when the app runs on SQLite (db None or SQLite), the
    PostgreSQL server's when it runs there; the other one is None.
    """
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
    postgresql = server_version(db) if db is not None else None
    return {
        "nproc": os.cpu_count(),
        "sched_affinity": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version if postgresql is None else None,
        "postgresql": postgresql,
        "platform": platform.platform(),
        "loadavg_before": load,
        **versions,
    }


def machine_line(machine: dict) -> str:
    """The machine notes in one line, printed before the wrk benches start."""
    engine = (
        f"postgresql={machine['postgresql']}"
        if machine.get("postgresql")
        else f"sqlite={machine['sqlite']}"
    )
    return (
        f"machine: nproc={machine['nproc']} cpu={machine['cpu']!r} python={machine['python']} "
        f"{engine} {machine['gunicorn']} / {machine['wrk'][:20]}"
    )


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


def render_table(results: list[dict], first_column: str) -> str:
    lines = [
        f"| {first_column} | req/s | p50 ms | p99 ms | ratio to floor | target | pass/fail |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['label']} | {r['rps']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{'—' if r['ratio'] is None else format(r['ratio'], '.3f')} | "
            f"{'' if r['target'] is None else '≥ ' + format(r['target'], '.2f')} | {r['verdict']} |"
        )
    return "\n".join(lines)


def print_run_quality(runs: list[dict], floors: list[dict], machine: dict) -> float:
    """Socket errors and the floor's spread: whether the machine was quiet enough for the
    ratios to mean much (the load generator shares it with the server). Returns the floor's
    coefficient of variation."""
    errors = sum(r[k] for r in runs for k in r if k.startswith("err_"))
    print(f"socket errors over all runs: {errors}")
    floor_rates = [f["rps"] for f in floors]
    floor_cv = statistics.pstdev(floor_rates) / (sum(floor_rates) / len(floor_rates))
    print(
        f"floor runs: min {min(floor_rates):.0f}, max {max(floor_rates):.0f} req/s, "
        f"CV {floor_cv:.0%}; loadavg before {machine['loadavg_before']}, after {os.getloadavg()}"
    )
    if floor_cv > 0.15:
        print("WARNING: the floor varied by more than 15% between runs — the machine is busy;")
        print("         ratios use the adjacent floor runs, but compare them with care.")
    return floor_cv


def load_config(args) -> dict:
    """The wrk and gunicorn settings of a run under the names every wrk bench's JSON report
    uses (after "members"), so that reports of different benches can be compared."""
    return {
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "wrk_threads": args.threads,
        "wrk_connections": args.connections,
        "gunicorn_workers": args.workers,
        "gunicorn_recycle": args.recycle,
    }


def report_head(started: str, machine: dict) -> dict:
    """The first keys of every JSON report: how it was run, when, and on what."""
    return {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": started,
        "finished": now(),
        "machine": machine,
    }


def write_report(out: Path, report: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")
