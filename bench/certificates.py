"""Benchmark the certificate PDFs: one render against a WeasyPrint floor, their size, a batch
年审 of 500 cards, and the clerk's counter while a burst of downloads hits the server.

    .venv/bin/python bench/certificates.py [--members 6000] [--renders 30] [--batch 500]

In one run, on a fresh SQLite demo database in a temp directory (`flask db upgrade`, `flask
demo load`; uploads in the temp directory too) and the real font cut of `flask pdf fonts` in
instance/fonts:

1. Floor: a minimal one-page document with the same @font-face rules (fonts.font_css()) and
   one short line of Chinese, rendered with WeasyPrint's write_pdf(); also a variant with a
   bold line (the certificates use both faces), reported only.
2. A certificate letter and an activity card of demo members through issue.render_pdf(),
   interleaved with the floor renders so that machine noise hits both; the same two with the
   member's name changed to one with a character outside GB 2312 (reported only). Targets:
   median render ≤ 2 × the floor's median, PDF ≤ 200 KB. Then a breakdown of one render
   (context and QR code, template, layout, PDF writing) and, with --profile, cProfile.
3. Batch: 500 activity cards due for their 年审 in the `township` user's township (issued
   through issue.issue, with the render stubbed out: their PDFs are never read), then
   batch.start() and batch.run() in a child process that does only that: 500 checks recorded
   on the same cards (no new papers), the 年审登记表 laid out in chunks and combined. Wall
   time, the child's peak RSS (ru_maxrss), pages.
4. Downloads vs. the counter: the app under gunicorn (2 sync workers); wrk as the clerk
   (1 connection) on POST /store/counter/lookup alone, then while a second wrk downloads a
   stored certificate PDF as `township` (16 connections). p50/p99 of the counter both ways.

Prints markdown tables and writes bench/out/certificates.json. Exit status 0 when the ratio
and size targets hold (and the batch checked every card), 1 when one is missed, 2 when the
bench itself failed. See bench/README.md.
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from common import (
    REPO,
    SECRET_KEY,
    BenchError,
    add_output_options,
    bench_env,
    clerk_session,
    code_version,
    db_scalar,
    fetch,
    gunicorn_config,
    load_demo,
    login,
    machine_line,
    machine_notes,
    now,
    per_second,
    report_head,
    run_bench,
    run_flask,
    run_wrk,
    start_gunicorn,
    stop_servers,
    wait_ready,
    write_report,
)

# The same Lua hooks as the store bench: every non-200 counted, p50/p99 from done().
from store import bad_body_file, post, static_lua

OUT = REPO / "bench" / "out" / "certificates.json"
SAMPLES = REPO / "bench" / "out" / "certificates"  # the PDFs measured, to look at
FONT_DIR = REPO / "instance" / "fonts"  # where `flask pdf fonts` puts the cut by default
# The cut `flask pdf fonts` writes (services/certificates/fonts.py, CUT_VERSION).
FONT_FILES = ("baojingserif-regular.v2.otf", "baojingserif-bold.v2.otf")
RATIO_TARGET = 2.0  # a certificate ≤ 2 × the minimal page with the same font
SIZE_TARGET = 200 * 1024  # ≤ 200 KB with the font subset
FLOOR_TEXT = "流动党员"
RARE_NAME = "𠮷田光"  # U+20BB7 is not in GB 2312: the full system font is pulled in for it
SURNAME = "刘"  # the counter's look-up text, as in bench/store.py
FLOOR_HTML = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
    "<style>\n{css}</style></head><body>{body}</body></html>"
)


# --- helpers ---------------------------------------------------------------------------


def app_config(db_path: Path, tmp: Path) -> dict:
    """The app's settings in this process and in the children: the temp database and
    uploads (never instance/uploads: a fresh demo's serials would overwrite the PDFs of the
    developer's own demo), the font cut in instance/fonts."""
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
        "SECRET_KEY": SECRET_KEY,
        "UPLOAD_FOLDER": str(tmp / "uploads"),
        "PDF_FONT_DIR": str(FONT_DIR),
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary_ms(times: list[float]) -> dict:
    return {
        "median_ms": statistics.median(times) * 1000,
        "min_ms": min(times) * 1000,
        "p90_ms": percentile(times, 90) * 1000,
        "max_ms": max(times) * 1000,
        "cv": statistics.pstdev(times) / statistics.mean(times),
        "n": len(times),
    }


def pdf_info(path: Path) -> dict:
    """Pages (pdfinfo) and the embedded fonts (pdffonts) of a PDF, as poppler sees them."""
    info: dict = {"pages": None, "fonts": []}
    try:
        out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, timeout=60)
        m = re.search(r"^Pages:\s+(\d+)", out.stdout, re.M)
        info["pages"] = int(m.group(1)) if m else None
        out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, timeout=60)
        info["fonts"] = [line.split()[0] for line in out.stdout.splitlines()[2:] if line.strip()]
    except (OSError, subprocess.TimeoutExpired):
        pass
    if info["pages"] is None:  # no poppler: count the page objects
        info["pages"] = len(re.findall(rb"/Type\s*/Page\b", path.read_bytes()))
    return info


def pdf_text(path: Path) -> str:
    try:
        out = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, timeout=60
        )
        return out.stdout.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return ""


def vm_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Renamed:
    """A member as the templates see it, under another name; nothing is written."""

    def __init__(self, member, name: str):
        self._member = member
        self.name = name

    def __getattr__(self, attr):
        return getattr(self._member, attr)


def text_versions() -> dict:
    import weasyprint
    from weasyprint.text.ffi import pango

    v = pango.pango_version()  # 15010 is 1.50.10
    return {
        "weasyprint": weasyprint.__version__,
        "pango": f"{v // 10000}.{v // 100 % 100}.{v % 100}",
    }


# --- 1 and 2: floor and certificates, in this process -----------------------------------


def measure_renders(args, db_path: Path, tmp: Path) -> dict:
    from sqlalchemy import select
    from weasyprint import HTML

    from baojing import create_app
    from baojing.extensions import db
    from baojing.models.certificates import VALID, Certificate
    from baojing.models.members import Member
    from baojing.services.certificates import fonts, issue, pdf

    app = create_app(app_config(db_path, tmp))
    with app.app_context():
        fonts.require_cjk_font()
        css = fonts.font_css()
        if css.count("@font-face") != 2:
            raise BenchError(f"the font cut is not in {FONT_DIR} (font_css():\n{css})")
        floor_html = FLOOR_HTML.format(css=css, body=f"<p>{FLOOR_TEXT}</p>")
        bold_html = FLOOR_HTML.format(
            css=css, body=f"<p>{FLOOR_TEXT}</p><p><strong>{FLOOR_TEXT}</strong></p>"
        )

        def first(kind: str):
            cert = db.session.scalar(
                select(Certificate)
                .where(Certificate.kind == kind, Certificate.status == VALID)
                .order_by(Certificate.id)
                .limit(1)
            )
            if cert is None:
                raise BenchError(f"the demo has no valid {kind}")
            return cert, db.session.get(Member, cert.member_id)

        card, card_member = first("card")
        letter, letter_member = first("letter")
        cases = {
            "floor": ("floor: minimal page, same @font-face, 1 line", lambda: HTML(string=floor_html).write_pdf()),
            "floor_bold": ("floor + a bold line (both faces)", lambda: HTML(string=bold_html).write_pdf()),
            "card": (f"activity card {card.serial}", lambda: issue.render_pdf(card, card_member)),
            "letter": (f"letter {letter.serial}", lambda: issue.render_pdf(letter, letter_member)),
            "card_rare": (f"card, name {RARE_NAME}", lambda: issue.render_pdf(card, Renamed(card_member, RARE_NAME))),
            "letter_rare": (f"letter, name {RARE_NAME}", lambda: issue.render_pdf(letter, Renamed(letter_member, RARE_NAME))),
        }  # fmt: skip
        names = {"card": card_member.name, "letter": letter_member.name}
        order = list(cases)
        times: dict[str, list[float]] = {k: [] for k in cases}
        last: dict[str, bytes] = {}
        total = args.render_warmup + args.renders
        print(
            f"rendering: {args.render_warmup} warm-up + {args.renders} rounds of "
            f"{len(order)} renders, interleaved (rotating order)",
            flush=True,
        )
        started = time.perf_counter()
        for i in range(total):
            shift = i % len(order)
            for key in order[shift:] + order[:shift]:
                t0 = time.perf_counter()
                data = cases[key][1]()
                dt = time.perf_counter() - t0
                if i >= args.render_warmup:
                    times[key].append(dt)
                last[key] = data
        print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)

        SAMPLES.mkdir(parents=True, exist_ok=True)
        results = {}
        floor_median = statistics.median(times["floor"])
        for key, (label, _) in cases.items():
            data = last[key]
            if not data.startswith(b"%PDF"):
                raise BenchError(f"{label}: not a PDF")
            path = SAMPLES / f"{key}.pdf"
            path.write_bytes(data)
            info = pdf_info(path)
            s = summary_ms(times[key])
            r = {"label": label, **s, "bytes": len(data), **info, "sample": str(path)}
            r["times_ms"] = [round(t * 1000, 2) for t in times[key]]  # in round order
            if key != "floor":
                r["ratio"] = statistics.median(times[key]) / floor_median
                # Each round's render over that round's floor: less sensitive to drift.
                r["paired_ratio"] = statistics.median(
                    t / f for t, f in zip(times[key], times["floor"], strict=True)
                )
            if key in ("card", "letter", "card_rare", "letter_rare"):
                text = pdf_text(path)
                name = RARE_NAME if key.endswith("_rare") else names[key.split("_")[0]]
                r["name_in_text"] = name in text
                if not r["name_in_text"] and text:
                    print(f"  WARNING: {label}: pdftotext does not find {name!r}")
            results[key] = r

        breakdown = render_breakdown(
            args, HTML, issue, pdf, floor_html, [(card, card_member), (letter, letter_member)]
        )
        profile = profile_render(issue, card, card_member) if args.profile else None
        ids = {"card_id": card.id, "letter_id": letter.id}
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
    return {
        "results": results,
        "breakdown": breakdown,
        "profile": profile,
        "font_css": css,
        "font_files": {n: (FONT_DIR / n).stat().st_size for n in FONT_FILES},
        **ids,
    }


def render_breakdown(args, HTML, issue, pdf, floor_html: str, certs) -> dict:
    """Where one render's time goes: the context (database, QR code), the template, the
    layout (HTML().render()) and the PDF (Document.write_pdf(), fonts subset there)."""
    n = max(5, args.renders // 3)
    phases: dict[str, dict[str, list[float]]] = {"floor": {"layout": [], "write_pdf": []}}
    for cert, _ in certs:
        phases[cert.kind] = {"context": [], "qr": [], "template": [], "layout": [], "write_pdf": []}  # fmt: skip
    for _ in range(n + 2):
        t0 = time.perf_counter()
        doc = HTML(string=floor_html).render()
        t1 = time.perf_counter()
        doc.write_pdf()
        t2 = time.perf_counter()
        phases["floor"]["layout"].append(t1 - t0)
        phases["floor"]["write_pdf"].append(t2 - t1)
        for cert, member in certs:
            template = "certificates/pdf/letter.html" if cert.kind == "letter" else "certificates/pdf/cards.html"  # fmt: skip
            p = phases[cert.kind]
            t0 = time.perf_counter()
            context = issue.card_context(cert, member)
            t1 = time.perf_counter()
            pdf.qr_png(context["url"])
            t2 = time.perf_counter()
            html = pdf._html(template, cards=[context], **context)
            t3 = time.perf_counter()
            # As pdf.render() lays it out: the process's font set-up and parsed stylesheet.
            config, sheet = pdf._setup(template)
            doc = HTML(string=html).render(stylesheets=[sheet], font_config=config)
            t4 = time.perf_counter()
            doc.write_pdf()
            t5 = time.perf_counter()
            for name, dt in (("context", t1 - t0), ("qr", t2 - t1), ("template", t3 - t2),
                             ("layout", t4 - t3), ("write_pdf", t5 - t4)):  # fmt: skip
                p[name].append(dt)
    return {
        what: {name: statistics.median(ts[2:]) * 1000 for name, ts in p.items()}
        for what, p in phases.items()
    }


def profile_render(issue, cert, member, renders: int = 10) -> str:
    """cProfile of a few card renders, the top functions by own time (C calls included)."""
    import cProfile
    import io
    import pstats

    issue.render_pdf(cert, member)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(renders):
        issue.render_pdf(cert, member)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(30)
    return out.getvalue()


# --- 3: the batch, in child processes ------------------------------------------------------


def run_child(env: dict, db_path: Path, tmp: Path, mode: str, cards: int) -> dict:
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--child", mode,
        "--db", str(db_path), "--tmp", str(tmp), "--batch", str(cards),
    ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=3600)
    m = re.search(r"^CHILD_JSON (\{.*\})$", proc.stdout, re.M)
    if proc.returncode != 0 or not m:
        raise BenchError(f"child {mode} failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")  # fmt: skip
    out = json.loads(m.group(1))
    out["child_wall_s"] = time.perf_counter() - started
    return out


def child_main(args) -> int:
    from baojing import create_app

    app = create_app(app_config(args.db, args.tmp))
    with app.app_context():
        out = child_due(args.batch) if args.child == "due" else child_batch()
    print("CHILD_JSON " + json.dumps(out, ensure_ascii=False), flush=True)
    return 0


def _township_user():
    from sqlalchemy import select

    from baojing.extensions import db
    from baojing.models.users import User

    user = db.session.scalar(select(User).where(User.username == "township"))
    if user is None or not user.township_id:
        raise BenchError("no demo user `township` with a township")
    return user


def child_due(cards: int) -> dict:
    """Make `cards` activity cards due for their 年审 in the township user's township.

    Issued through issue.issue (serials, audit, points as the app does it) with the PDF
    render replaced by a placeholder: these are the old cards, whose PDFs the batch never
    reads, and 500 real renders here would only lengthen the set-up.
    """
    from datetime import timedelta

    from sqlalchemy import select

    from baojing.dates import local_today
    from baojing.db import writing
    from baojing.extensions import db
    from baojing.models.certificates import VALID, Certificate
    from baojing.models.members import ACTIVE, Member
    from baojing.services.certificates import issue, listing

    user = _township_user()
    today = local_today()
    already = len(listing.due_for_check(user, today))
    need = cards - already
    holders = select(Certificate.member_id).where(Certificate.status == VALID)
    members = list(
        db.session.scalars(
            select(Member)
            .where(Member.township_id == user.township_id, Member.status == ACTIVE,
                   Member.id.not_in(holders))
            .order_by(Member.id)
            .limit(max(need, 0))
        )
    )  # fmt: skip
    if len(members) < need:
        raise BenchError(
            f"only {len(members)} active members without a card in the township, {need} needed "
            "— load more demo members (--members)"
        )
    real_render = issue.render_pdf
    issue.render_pdf = lambda cert, member: b"%PDF-1.7\n% bench placeholder: an old card\n"
    try:
        with writing():
            for k, member in enumerate(members):
                issue.issue(member, user, {
                    "kind": "card", "valid_until": today + timedelta(days=1 + k % 29),
                    "reason": "外出务工", "destination": f"{member.dest_province}{member.dest_city}",
                })  # fmt: skip
            db.session.commit()
    finally:
        issue.render_pdf = real_render
    due = len(listing.due_for_check(user, today))
    return {"already_due": already, "issued": len(members), "due": due}


def child_batch() -> dict:
    """batch.start() and batch.run() for the township user, nothing else in this process, so
    that its peak RSS is the batch's own (plus the app and WeasyPrint being loaded, which
    the RSS before shows). batch.run() is called directly, not in the background thread
    (which runs at nice 10)."""
    import weasyprint  # noqa: F401 - loaded before the baseline, as in a worker

    from baojing.db import writing
    from baojing.extensions import db
    from baojing.models.certificates import CardCheck, PrintJob
    from baojing.services.certificates import batch, issue, pdf

    user = _township_user()
    user_id, township_id = user.id, user.township_id
    rss_before = vm_rss_kib()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    spent = {"render_pdf": 0.0, "render_document": 0.0, "combine": 0.0}
    calls = {"render_pdf": 0, "render_document": 0, "combine": 0}
    rss_at: dict[str, int] = {}

    def timed(module, name):
        real = getattr(module, name)

        def wrapper(*a, **kw):
            if name == "render_document" and not calls[name]:  # the checks are done
                rss_at["checked_maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                rss_at["checked_rss_kib"] = vm_rss_kib()
            t0 = time.perf_counter()
            try:
                return real(*a, **kw)
            finally:
                spent[name] += time.perf_counter() - t0
                calls[name] += 1

        setattr(module, name, wrapper)

    timed(issue, "render_pdf")  # a paper's own PDF: none in a 年审 batch
    timed(pdf, "render_document")  # a chunk of 50 register lines laid out
    timed(pdf, "combine")  # the chunks written as one PDF
    t0 = time.perf_counter()
    with writing():
        job = batch.start(user, township_id, "基准测试活动证年审")
        db.session.commit()
        job_id, cards = job.id, len(job.certificate_ids.split(","))
    t1 = time.perf_counter()
    batch.run(job_id, user_id)
    t2 = time.perf_counter()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    job = db.session.get(PrintJob, job_id)
    if job.status != "done":
        raise BenchError(f"print job {job_id}: {job.status} {job.error}")
    path = batch.folder() / f"{job.file_token}.pdf"
    checked = (
        db.session.query(CardCheck).filter(CardCheck.request_id.like(f"job{job_id}-%")).count()
    )
    return {
        "job_id": job_id, "cards": cards, "checked": checked,
        "start_s": t1 - t0, "run_s": t2 - t1, "wall_s": t2 - t0,
        "spent_s": spent, "calls": calls,
        "rss_before_kib": rss_before, "maxrss_before_kib": maxrss_before,
        "maxrss_kib": maxrss,
        **rss_at, "rss_after_kib": vm_rss_kib(),
        "pdf": str(path), "pdf_bytes": path.stat().st_size, **pdf_info(path),
    }  # fmt: skip


# --- 4: the counter during a burst of downloads ------------------------------------------


def wrk(
    args, lua: Path, port: int, path: str, duration: int, threads: int, connections: int,
    allow_non200: bool = False,
) -> dict:  # fmt: skip
    a = argparse.Namespace(wrk=args.wrk, threads=threads, connections=connections)
    r, _ = run_wrk(a, lua, port, path, duration, options=(f"--timeout={args.timeout}s",), grace=120)
    r["rps"] = per_second(r)
    r["ok_rps"] = per_second(r, "ok200")
    if r["non200"]:
        sample = bad_body_file(lua)
        body = sample.read_text(errors="replace") if sample.exists() else ""
        title = re.search(r"<title>([^<]*)</title>", body)
        r["bad_title"] = title.group(1) if title else body[:200]
        if not allow_non200:
            raise BenchError(f"{path}: {r['non200']} non-200 (last {r['last_bad_status']}):\n{body[:800]}")  # fmt: skip
    return r


def measure_counter(args, env: dict, db_path: Path, tmp: Path) -> dict:
    conf = gunicorn_config(tmp, args.workers, recycle=False)
    proc, port, log = start_gunicorn("app", "app:app", conf, env, tmp, [])
    wait_ready(proc, port, "/healthz", log)
    print(f"gunicorn: app on :{port}, {args.workers} sync workers", flush=True)

    township = login(port, "township")
    # A stored PDF as issued by the demo (a real render, not one of the bench's old cards).
    candidates = [
        row[0]
        for row in _rows(
            db_path,
            "SELECT id FROM certificates WHERE township_id = (SELECT o.township_id FROM users u "
            "JOIN org_units o ON o.id = u.org_unit_id WHERE u.username = 'township') "
            "AND pdf_size > 10000 ORDER BY id LIMIT 5",
        )
    ]
    cert_id = pdf_bytes = None
    for cid in candidates:
        status, headers, body = fetch(port, f"/certificates/{cid}.pdf", {"Cookie": township})
        if (
            status == 200
            and headers.get("Content-Type") == "application/pdf"
            and body[:4] == b"%PDF"
        ):
            cert_id, pdf_bytes = cid, len(body)
            break
    if cert_id is None:
        raise BenchError(f"none of certificates {candidates} downloads as `township`")
    download = f"/certificates/{cert_id}.pdf"
    print(f"  ok  {download} as township: {pdf_bytes:,} B")

    cookie, csrf = clerk_session(port)
    form = f"q={SURNAME}"
    headers = {"HX-Request": "true", "Cookie": cookie, "X-CSRFToken": csrf}
    status, _, body = post(port, "/store/counter/lookup", {"q": SURNAME}, headers)
    text = body.decode(errors="replace")
    if status != 200 or "<html" in text.lower() or text.count("<li>") == 0:
        raise BenchError(f"counter look-up: HTTP {status}, not a fragment with rows:\n{text[:500]}")
    print(f"  ok  POST /store/counter/lookup q={SURNAME} as clerk: {len(body)} B")

    counter_lua = tmp / "counter.lua"
    counter_lua.write_text(
        static_lua(
            bad_body_file(counter_lua), "POST", form,
            {**headers, "Content-Type": "application/x-www-form-urlencoded"},
        )
    )  # fmt: skip
    burst_lua = tmp / "burst.lua"
    burst_lua.write_text(static_lua(bad_body_file(burst_lua), "GET", "", {"Cookie": township}))
    audits_before = db_scalar(
        db_path, "SELECT count(*) FROM audit_log WHERE action = 'certificate.download'"
    )

    def counter(duration):
        return wrk(args, counter_lua, port, "/store/counter/lookup", duration, 1, args.counter_connections)  # fmt: skip

    def burst(duration):
        # Non-200 answers are a result here (an app error under the burst), not a bench failure.
        return wrk(args, burst_lua, port, download, duration, args.threads, args.connections, True)  # fmt: skip

    def with_burst(duration):
        """The burst starts a second before the counter's run and ends a second after it."""
        out: dict = {}

        def run():
            try:
                out["burst"] = burst(duration + 2)
            except BaseException as exc:  # noqa: BLE001 - reported in the main thread
                out["error"] = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        time.sleep(1)
        r = counter(duration)
        thread.join(duration + 180)
        if "error" in out:
            raise out["error"]
        if "burst" not in out:
            raise BenchError("the download burst did not finish")
        r["burst"] = out["burst"]
        return r

    warm = None
    if args.warmup > 0:
        print(f"warm-up: {args.warmup}s counter, {args.warmup}s downloads", flush=True)
        counter(args.warmup)
        warm = burst(args.warmup)
        if warm["non200"]:
            print(f"  downloads in the warm-up: {warm['non200']} of {warm['requests']} not 200 "
                  f"(last {warm['last_bad_status']}: {warm['bad_title']})")  # fmt: skip
    # One download at a time (a single user): what one download costs the server, and
    # whether it answers at all when nothing competes for the database.
    single = wrk(args, burst_lua, port, download, args.duration, 1, 1, True)
    print(
        f"  one download at a time: {single['rps']:.0f}/s p50 {single['p50_us'] / 1000:.1f} ms "
        f"p99 {single['p99_us'] / 1000:.1f} ms, {single['non200']} not 200",
        flush=True,
    )
    runs = []
    print(
        f"measuring: counter wrk -t1 -c{args.counter_connections} -d{args.duration}s alone and "
        f"with downloads wrk -t{args.threads} -c{args.connections}; {args.rounds} round(s)",
        flush=True,
    )
    for _ in range(args.rounds):
        for label, fn in (("alone", counter), ("burst", with_burst)):
            r = fn(args.duration)
            r["label"] = label
            runs.append(r)
            extra = ""
            if "burst" in r:
                b = r["burst"]
                extra = (
                    f"; downloads {b['rps']:.0f}/s p50 {b['p50_us'] / 1000:.1f} ms "
                    f"p99 {b['p99_us'] / 1000:.1f} ms, {b['non200']} of {b['requests']} not 200"
                    + (f" (last {b['last_bad_status']}: {b['bad_title']})" if b["non200"] else "")
                )
            print(
                f"  counter {label}: {r['rps']:.0f} req/s p50 {r['p50_us'] / 1000:.1f} ms "
                f"p99 {r['p99_us'] / 1000:.1f} ms{extra}",
                flush=True,
            )
    r = counter(args.duration)  # alone again: alone runs on both sides of every burst run
    r["label"] = "alone"
    runs.append(r)
    print(f"  counter alone: {r['rps']:.0f} req/s p50 {r['p50_us'] / 1000:.1f} ms p99 {r['p99_us'] / 1000:.1f} ms", flush=True)  # fmt: skip
    stop_servers()
    # The distinct exceptions the app logged (with counts), and the SQL each one was at.
    errors: dict[str, int] = {}
    lines = log.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[\w.]+(Error|Exception): ", line):
            sql = next((x for x in lines[i + 1 : i + 3] if x.startswith("[SQL: ")), "")
            key = f"{line[:160]} {sql[:100]}".strip()
            errors[key] = errors.get(key, 0) + 1
    audits = (
        db_scalar(db_path, "SELECT count(*) FROM audit_log WHERE action = 'certificate.download'")
        - audits_before
    )

    def mean(rs, key):
        return sum(x[key] for x in rs) / len(rs) / 1000

    alone = [x for x in runs if x["label"] == "alone"]
    bursts = [x for x in runs if x["label"] == "burst"]
    return {
        "download": download,
        "download_bytes": pdf_bytes,
        "runs": runs,
        "counter_alone": {"rps": sum(x["rps"] for x in alone) / len(alone),
                          "p50_ms": mean(alone, "p50_us"), "p99_ms": mean(alone, "p99_us")},
        "counter_burst": {"rps": sum(x["rps"] for x in bursts) / len(bursts),
                          "p50_ms": mean(bursts, "p50_us"), "p99_ms": mean(bursts, "p99_us")},
        "downloads": {"rps": sum(x["burst"]["rps"] for x in bursts) / len(bursts),
                      "p50_ms": sum(x["burst"]["p50_us"] for x in bursts) / len(bursts) / 1000,
                      "p99_ms": sum(x["burst"]["p99_us"] for x in bursts) / len(bursts) / 1000,
                      "requests": sum(x["burst"]["requests"] for x in bursts),
                      "non200": sum(x["burst"]["non200"] for x in bursts),
                      "last_bad_status": max(x["burst"]["last_bad_status"] for x in bursts),
                      "bad_titles": sorted({x["burst"].get("bad_title", "") for x in bursts} - {""}),
                      "ok_rps": sum(x["burst"]["ok_rps"] for x in bursts) / len(bursts),
                      "audited": audits},
        "warmup_downloads": warm,
        "download_single": single,
        "log_errors": [f"{n:,} × {e}" for e, n in sorted(errors.items(), key=lambda x: -x[1])],
    }  # fmt: skip


def _rows(db_path: Path, sql: str) -> list[tuple]:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(db_path, timeout=30)) as conn:
        return conn.execute(sql).fetchall()


# --- the report ------------------------------------------------------------------------


def render_table(renders: dict) -> str:
    lines = [
        "| render | median ms | p90 ms | ratio to floor | PDF bytes | pages | target | pass/fail |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in renders.values():
        ratio = r.get("ratio")
        lines.append(
            f"| {r['label']} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} | "
            f"{'—' if ratio is None else format(ratio, '.2f')} | {r['bytes']:,} | {r['pages']} | "
            f"{r.get('target', '')} | {r.get('verdict', '')} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--members",
        type=int,
        default=6000,
        help="demo members (default 6000: 500+ in 迁陵镇 for the batch)",
    )
    parser.add_argument("--renders", type=int, default=30, help="measured rounds of renders")
    parser.add_argument("--render-warmup", type=int, default=3, help="warm-up rounds")
    parser.add_argument("--batch", type=int, default=500, help="cards in the batch (0: skip)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per counter wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk warm-up")
    parser.add_argument("--rounds", type=int, default=2, help="alone/with-burst pairs")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t of the downloads")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c of the downloads")
    parser.add_argument("--counter-connections", type=int, default=1, help="wrk -c of the counter")
    parser.add_argument("--timeout", type=int, default=10, help="wrk --timeout, seconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--no-serve", action="store_true", help="skip the download burst")
    parser.add_argument("--profile", action="store_true", help="cProfile one card render")
    parser.add_argument("--child", choices=("due", "batch"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    add_output_options(parser, OUT)
    args = parser.parse_args(argv)  # fmt: skip
    if args.child:
        return child_main(args)
    return run_bench(args, run, "baojing-bench-certificates-", passed="all_pass")


def run(args, tmp: Path) -> dict:
    if not args.no_serve and not Path(args.wrk).exists():
        raise BenchError(f"wrk not found at {args.wrk}")
    started = now()
    machine = machine_notes(args)
    machine["commit"] = code_version()
    machine.update(text_versions())
    print(machine_line(machine) + f", commit {machine['commit']}", flush=True)
    print(f"WeasyPrint {machine['weasyprint']}, Pango {machine['pango']}")
    db_path = tmp / "bench.db"
    env = bench_env(db_path)
    env["BAOJING_UPLOAD_FOLDER"] = str(tmp / "uploads")
    env["BAOJING_PDF_FONT_DIR"] = str(FONT_DIR)

    run_flask(env, "pdf", "fonts")  # the cut of `make fonts`; a no-op when it is there
    missing = [n for n in FONT_FILES if not (FONT_DIR / n).exists()]
    if missing:
        raise BenchError(f"flask pdf fonts left no {missing} in {FONT_DIR}")
    load_demo(env, args.members)

    renders = measure_renders(args, db_path, tmp)
    r = renders["results"]
    floor = r["floor"]
    checks = {}
    for key in ("card", "letter"):
        ratio_ok = r[key]["ratio"] <= RATIO_TARGET
        size_ok = r[key]["bytes"] <= SIZE_TARGET
        r[key]["target"] = f"≤ {RATIO_TARGET:g}× floor, ≤ {SIZE_TARGET // 1024} KB"
        r[key]["verdict"] = (
            ("pass" if ratio_ok else "FAIL time") + ", " + ("pass" if size_ok else "FAIL size")
        )
        checks[f"{key}_ratio"] = ratio_ok
        checks[f"{key}_size"] = size_ok
    for key in ("floor_bold", "card_rare", "letter_rare"):
        r[key]["verdict"] = "report"

    batch = None
    if args.batch:
        print(f"batch: making {args.batch} cards due in the township user's township …", flush=True)
        due = run_child(env, db_path, tmp, "due", args.batch)
        print(f"  {due['already_due']} due in the demo + {due['issued']} issued = {due['due']} due "
              f"({due['child_wall_s']:.1f} s)", flush=True)  # fmt: skip
        if due["due"] != args.batch:
            raise BenchError(f"{due['due']} cards due, {args.batch} wanted")
        print(f"batch: batch.start + batch.run of {args.batch} cards in a child process …", flush=True)  # fmt: skip
        batch = run_child(env, db_path, tmp, "batch", args.batch)
        batch["due_setup"] = due
        checks["batch_checked_every_card"] = batch["checked"] == batch["cards"] == args.batch
        print(f"  {batch['wall_s']:.1f} s, peak RSS {batch['maxrss_kib'] / 1024:.0f} MiB, "
              f"{batch['pages']} pages, {batch['pdf_bytes']:,} B", flush=True)  # fmt: skip

    counter = None
    if not args.no_serve:
        counter = measure_counter(args, env, db_path, tmp)
        # Every download must be answered: an error under the burst is a result, exit 1.
        checks["downloads_all_200"] = counter["downloads"]["non200"] == 0

    all_pass = all(checks.values())
    table = render_table(r)
    print()
    print(table)
    print()
    print(
        f"{args.renders} rounds after {args.render_warmup} warm-up, interleaved in one process; "
        f"floor median {floor['median_ms']:.1f} ms (CV {floor['cv']:.0%}); paired ratios (each "
        f"round's render over its floor, median): card {r['card']['paired_ratio']:.2f}, "
        f"letter {r['letter']['paired_ratio']:.2f}, floor + bold {r['floor_bold']['paired_ratio']:.2f}"
    )
    for key in ("floor", "floor_bold", "card", "letter", "card_rare", "letter_rare"):
        print(f"  fonts in {key}.pdf: {', '.join(r[key]['fonts']) or '?'}")
    if floor["cv"] > 0.15:
        print("WARNING: the floor's render time varied by more than 15% — the machine is busy;")
        print("         the ratio interleaves both, but compare it with care.")
    print()
    print("where one render's time goes (median ms; layout = HTML().render(), write_pdf =")
    print("Document.write_pdf(), where the fonts are subset and embedded):")
    print()
    print("| render | context (DB + QR) | of which QR png | template | layout | write_pdf | sum |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for what, p in renders["breakdown"].items():
        total = sum(v for k, v in p.items() if k != "qr")
        print(
            f"| {what} | {p.get('context', 0):.1f} | {p.get('qr', 0):.1f} | "
            f"{p.get('template', 0):.1f} | {p['layout']:.1f} | {p['write_pdf']:.1f} | {total:.1f} |"
        )
    if renders["profile"]:
        print()
        print(renders["profile"])

    if batch:
        print()
        s = batch["spent_s"]
        layout = s["render_document"] + s["combine"]
        print("| batch | cards | wall s | renders s (none: checks print no paper) | register layout + combine s | peak RSS MiB | RSS before / after the checks MiB | pages | PDF bytes |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        print(
            f"| batch.start + batch.run | {batch['cards']} | {batch['wall_s']:.1f} | "
            f"{s['render_pdf']:.1f} ({batch['calls']['render_pdf']} renders, "
            f"{s['render_pdf'] / max(batch['calls']['render_pdf'], 1) * 1000:.0f} ms each) | "
            f"{layout:.1f} ({batch['calls']['render_document']} chunks) | "
            f"{batch['maxrss_kib'] / 1024:.0f} | {batch['rss_before_kib'] / 1024:.0f} / "
            f"{batch.get('checked_rss_kib', 0) / 1024:.0f} | "
            f"{batch['pages']} | {batch['pdf_bytes']:,} |"
        )
    if counter:
        print()
        a, b, d = counter["counter_alone"], counter["counter_burst"], counter["downloads"]
        print(f"| counter POST /store/counter/lookup (clerk, wrk -c{args.counter_connections}) | req/s | p50 ms | p99 ms |")  # fmt: skip
        print("|---|---:|---:|---:|")
        print(f"| alone (mean of {sum(1 for x in counter['runs'] if x['label'] == 'alone')} runs) | {a['rps']:.0f} | {a['p50_ms']:.1f} | {a['p99_ms']:.1f} |")  # fmt: skip
        print(f"| during the download burst (mean of {args.rounds}) | {b['rps']:.0f} | {b['p50_ms']:.1f} | {b['p99_ms']:.1f} |")  # fmt: skip
        one = counter["download_single"]
        print(f"| (one download at a time, wrk -t1 -c1: {one['non200']} not 200) | {one['rps']:.0f} | {one['p50_us'] / 1000:.1f} | {one['p99_us'] / 1000:.1f} |")  # fmt: skip
        print(f"| (the burst: GET {counter['download']} as township, wrk -t{args.threads} -c{args.connections}) | {d['rps']:.0f} | {d['p50_ms']:.1f} | {d['p99_ms']:.1f} |")  # fmt: skip
        print(f"stored PDF {counter['download_bytes']:,} B served from disk; "
              f"{d['audited']:,} downloads audited during the runs")  # fmt: skip
        if d["non200"]:
            print(f"DOWNLOADS FAILED under the burst: {d['non200']:,} of {d['requests']:,} answers "
                  f"not 200 (last {d['last_bad_status']}: {'; '.join(d['bad_titles'])}); "
                  f"{d['ok_rps']:.0f} PDFs/s delivered. See the gunicorn log's errors below.")  # fmt: skip
            for line in counter["log_errors"]:
                print(f"  {line}")
    print()
    print(f"loadavg before {machine['loadavg_before']}, after {os.getloadavg()}")
    missed = [k for k, ok in checks.items() if not ok]
    print("result:", "all targets met" if all_pass else "MISSED: " + ", ".join(missed))

    report = {
        **report_head(started, machine),
        "config": {
            "members": args.members,
            "renders": args.renders,
            "render_warmup": args.render_warmup,
            "batch": args.batch,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "rounds": args.rounds,
            "wrk_threads": args.threads,
            "wrk_connections": args.connections,
            "counter_connections": args.counter_connections,
            "gunicorn_workers": args.workers,
            "font_dir": str(FONT_DIR),
            "font_files": renders["font_files"],
            "ratio_target": RATIO_TARGET,
            "size_target": SIZE_TARGET,
            "rare_name": RARE_NAME,
        },  # fmt: skip
        "renders": r,
        "breakdown_ms": renders["breakdown"],
        "profile": renders["profile"],
        "batch": batch,
        "counter": counter,
        "checks": checks,
        "loadavg_after": os.getloadavg(),
        "all_pass": all_pass,
        "table": table,
    }
    write_report(args.out, report)
    return report


if __name__ == "__main__":
    sys.exit(main())
