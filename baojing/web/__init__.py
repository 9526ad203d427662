"""The web plumbing every blueprint shares.

What each request goes through (login.py: the server-side session behind the cookie;
uploads.py: the larger body limit of the views that take files; ratelimit.py: the
public endpoints' limits; pages.py: response headers, error pages, template filters)
and what views use (htmx.py: page or fragment; forms.py: commit a form or show its
errors; guards.py: roles and a recent password; params.py: query-string numbers;
downloads.py: every .xlsx export). Business rules are not here: they are in services/.
"""
