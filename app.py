"""Entry point: `flask` finds `app` here; gunicorn serves `app:app`."""

from baojing import create_app

app = create_app()
