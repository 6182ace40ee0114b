"""WSGI entry point for gunicorn: `gunicorn wsgi:app` (docs/deploy.md)."""

import sys

from portal import START_PROBLEMS, create_app

try:
    app = create_app()
except START_PROBLEMS as exc:
    print(f"error: {exc}", file=sys.stderr, flush=True)
    sys.exit(4)  # gunicorn's "App failed to load": its master stops instead of starting the worker again and again
