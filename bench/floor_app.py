"""The floor for bench/members.py: a bare Flask app whose one route returns a short string.

Served by the same gunicorn config as the real app, so the ratio page/floor measures what the
app itself costs on top of gunicorn + Flask + the HTTP round trip.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok"
