"""A real gunicorn for the tests: started with the project's gunicorn.conf.py on a test
database, on a port the kernel picks, and always stopped (its whole process group).

Shared by the tests that need real worker processes: races between workers, several
servers on one database, a backup or a restore beside a server, the fault drills.
"""

import http.client
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PASSWORD, database_uri

REPO = Path(__file__).resolve().parent.parent
SECRET_KEY = "gunicorn-test-secret-key-that-is-long-enough-0123456789"
RECEIPT = re.compile(r"小票号 <strong>(JF\d{8}-\d{6})</strong>")
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


def venv_bin(name: str) -> str:
    for candidate in (Path(sys.executable).parent / name, REPO / ".venv" / "bin" / name):
        if candidate.exists():
            return str(candidate)
    raise FileNotFoundError(f"{name} not found next to {sys.executable} or in .venv/bin")


def server_env(database, **settings) -> dict:
    """The environment of a server (or a command) on the test database; settings become
    BAOJING_<NAME> variables, as an operator's /etc/baojing.env would set them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAOJING_")}
    for var in ("FLASK_APP", "FLASK_DEBUG"):
        env.pop(var, None)
    env.update(
        BAOJING_SQLALCHEMY_DATABASE_URI=database_uri(database),  # absolute: sqlite:////tmp/…
        BAOJING_SECRET_KEY=SECRET_KEY,
        BAOJING_PASSWORD_HASH_CHEAP="1",  # the factories' hashes are cheap; no rehash at login
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update({f"BAOJING_{name}": str(value) for name, value in settings.items()})
    return env


def http_get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def wait_ready(proc: subprocess.Popen, log: Path, timeout: float = 60, since: int = 0) -> int:
    """The port gunicorn bound (it was given port 0), once /healthz answers 200.

    since: where this run's output starts in the log (a restart appends to it)."""
    deadline = time.monotonic() + timeout
    port = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({proc.returncode}):\n{log.read_text()}")
        if port is None and (
            m := LISTENING.search(log.read_bytes()[since:].decode(errors="replace"))
        ):
            port = int(m.group(1))
        if port is not None:
            try:
                if http_get(port, "/healthz") == 200:
                    return port
            except OSError:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn not ready after {timeout}s:\n{log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the master's process group (master and workers), SIGKILL if it lingers."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    try:  # no worker may outlive the test, whatever the master did
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def start(env: dict, log: Path, workers: int) -> tuple[subprocess.Popen, int]:
    """gunicorn in a process group of its own, its output appended to log; (process, port)."""
    cmd = [
        venv_bin("gunicorn"), "-c", str(REPO / "gunicorn.conf.py"),
        "--bind", "127.0.0.1:0", "--workers", str(workers), "--no-control-socket",
        "app:app",
    ]  # fmt: skip
    since = log.stat().st_size if log.exists() else 0
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        return proc, wait_ready(proc, log, since=since)
    except BaseException:
        stop(proc)
        raise


@contextmanager
def gunicorn(env: dict, log: Path, workers: int):
    """A running gunicorn for the block: yields its port; stopped however the block ends."""
    proc, port = start(env, log, workers)
    try:
        yield port
    finally:
        stop(proc)


# --- a browser's session -------------------------------------------------------------------


@dataclass
class ClerkSession:
    """One logged-in user: the cookie and the CSRF token of that session."""

    cookie: str
    csrf: str


def csrf_of(page: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert m, "no <meta name=csrf-token> on the page"
    return m.group(1)


def login(port: int, username: str = "clerk") -> ClerkSession:
    """Log in through the real form like a browser; the token is re-read after login."""
    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/login", timeout=30) as resp:
        token = csrf_of(resp.read().decode())
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrf_token": token})
    with opener.open(f"{base}/login", data=form.encode(), timeout=30) as resp:
        assert not urllib.parse.urlsplit(resp.geturl()).path.startswith("/login"), "login failed"
    # The session (and its CSRF token) were renewed at login: read the token afresh.
    with opener.open(f"{base}/store/counter", timeout=30) as resp:
        assert resp.status == 200
        token = csrf_of(resp.read().decode())
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    assert "baojing_session=" in cookie
    return ClerkSession(cookie=cookie, csrf=token)
