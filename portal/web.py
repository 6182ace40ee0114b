"""Request hooks: malformed arguments refused (F8), a given password replaced first, security headers, error pages,
health and the CSP nonce."""

from __future__ import annotations

import logging
import re
import secrets

from flask import Flask, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal import db
from portal.compat import format_local, format_money

log = logging.getLogger(__name__)

_PAGING_ARG = re.compile(r"^(page|psize)_\w+$")
_ERROR_TEXT = {
    400: _l("The request could not be understood."),
    403: _l("You do not have access to this page."),
    404: _l("This page or record does not exist, or is outside your scope."),
    405: _l("This action is not allowed here."),
    413: _l("The upload is too large."),
    429: _l("Too many attempts. Please wait a moment and try again."),
    500: _l("Something went wrong on our side. The error has been logged."),
}


# what a user whose password someone else chose may still open: the change form, logout, language, files
_OPEN_BEFORE_CHANGE = frozenset({"PortalResetMyPasswordView.this_form_get", "PortalResetMyPasswordView.this_form_post",
                                 "AuthDBView.logout", "LocaleView.index", "static", "appbuilder.static", "health"})


def _bad_paging() -> bool:
    for name, value in request.args.items(multi=True):
        if _PAGING_ARG.match(name) and not (value.isdigit() and len(value) <= 7):
            return True
    return False


def _money_fen(fen) -> str:
    """A raw stored amount (fen, as read without the model) formatted as CNY."""
    from models.common import from_fen

    return "" if fen is None else format_money(from_fen(fen))


def trust_proxies(app: Flask) -> None:
    """Behind PROXY_COUNT reverse proxies (nginx: 1), take the client's address and the scheme from their
    X-Forwarded-For/-Proto/-Host: the login limit then counts each client, not the proxy, and HSTS and url_for see
    https. Only the proxies' own headers are believed; bind gunicorn to loopback so nobody reaches it around them."""
    hops = int(app.config.get("PROXY_COUNT") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def init_app(app: Flask) -> None:
    """Install the hooks on `app`."""
    trust_proxies(app)

    @app.before_request
    def _refuse_malformed_arguments():
        g.csp_nonce = secrets.token_urlsafe(16)
        g.user = current_user  # FAB sets it in a later hook; error pages need it already
        if "locale" not in session:  # FAB's language menu assumes 'en' when the session has no locale
            session["locale"] = app.config["BABEL_DEFAULT_LOCALE"]
        if _bad_paging():
            return _error_response(400)
        return None

    @app.before_request
    def _own_password_first():
        """A password someone else chose (a hire, an administrator's reset) is replaced before anything else."""
        if (not current_user.is_authenticated or not getattr(current_user, "must_change_password", False)
                or request.endpoint in _OPEN_BEFORE_CHANGE):
            return None
        message = gettext("Choose your own password before you go on: the one you were given is known to someone "
                          "else.")
        if request.path.startswith("/api/"):
            return jsonify(message=message), 403
        flash(message, "warning")
        return redirect(url_for("PortalResetMyPasswordView.this_form_get"))

    @app.context_processor
    def _helpers():
        from models.audit import AUDIT_ACTIONS
        from models.common import choice_label
        from portal.registry import _is_zh

        return {"locale_is_zh": _is_zh, "entry_action_label": lambda action: choice_label(AUDIT_ACTIONS, action),
                "choice_label": choice_label, "money": format_money, "money_fen": _money_fen,
                "local_time": format_local}

    # a global, not a context variable: FAB's macros are imported without context and still need it
    app.jinja_env.globals["csp_nonce"] = lambda: getattr(g, "csp_nonce", "")

    @app.after_request
    def _security_headers(response):
        nonce = getattr(g, "csp_nonce", "")
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config.get("HSTS") and request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if response.mimetype in ("text/html", "application/json") and not request.path.startswith("/static"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.route("/health")
    def health():
        up = db.ping()
        return jsonify(status="ok" if up else "error", store=db.store_kind(), database="up" if up else "down"), (
            200 if up else 503)

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return _error_response(400, gettext("The form has expired or was sent from elsewhere. "
                                            "Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(exc):
        if exc.code in _ERROR_TEXT:
            return _error_response(exc.code)
        return exc

    @app.errorhandler(Exception)
    def _unexpected(exc):  # only reached outside TESTING: tests see the real exception
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return _error_response(500)


def error_text(code: int) -> str:
    """The message of an HTTP error in the user's language (the JSON API answers with it too)."""
    return str(_ERROR_TEXT.get(code, _ERROR_TEXT[400]))


def _error_response(code: int, message: str | None = None):
    if "user" not in g:
        g.user = current_user  # errors raised before FAB's own hook (CSRF) still render the navbar
    text = message or str(_ERROR_TEXT[code])
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(message=text), code
    appbuilder = current_app.appbuilder
    return render_template("portal/error.html", code=code, message=text, appbuilder=appbuilder,
                           base_template=appbuilder.base_template), code
