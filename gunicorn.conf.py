"""gunicorn settings for production (docs/deploy.md). Sync workers: SQLite serialises
writes anyway, and on a 2-core machine two workers measured best (docs/benchmarks.md)."""

import os

bind = os.environ.get("BAOJING_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("BAOJING_WORKERS", "2"))
worker_class = "sync"
timeout = 30
graceful_timeout = 20
# Recycle workers now and then so that a slow leak can never take the service down.
max_requests = 5000
max_requests_jitter = 500
# Access log without query strings: a search term can be a person's name.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
forwarded_allow_ips = os.environ.get("BAOJING_FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn 27 opens a runtime control socket in ~/.gunicorn by default; this service
# is managed by systemd, so no extra local control surface is wanted.
control_socket_disable = True


def post_worker_init(worker):
    """Each worker holds the serving lock while it lives: no restore runs under it."""
    from baojing import serving

    serving.hold(worker.wsgi)  # worker.wsgi is app:app, the Flask app (baojing/serving.py)
