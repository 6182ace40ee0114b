"""The JSON API routes, /api/v1/<resource>/ (issue 9 item 5); the work is done in portal/api.py.

Every call needs a bearer token from FAB's `POST /api/v1/security/login` (rate-limited like the HTML login, F5);
the session cookie is never read here, so no call, and no write, is authenticated by the cookie alone (and CSRF,
which guards the cookie, is off for this blueprint). The token's user is the user of the whole request: scope,
permissions and the audit trail name them. Answers and errors are JSON in the request's language
(Accept-Language: zh or en), never HTML, never a 500.
"""

from __future__ import annotations

import json

from babel import Locale
from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from flask_babel import gettext
from flask_jwt_extended import get_current_user, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import PyJWTError
from werkzeug.exceptions import HTTPException

from portal import api as service
from portal import openapi as schema
from portal.web import error_text

blueprint = Blueprint("portal_api", __name__, url_prefix=service.PREFIX)
_DOCUMENTS: dict[str, dict] = {}  # the OpenAPI document per language and resource set, built on first use


def register(appbuilder) -> None:
    """Add the API to the app; CSRF guards cookie sessions, which this blueprint never accepts. Two views on one
    resource name fail here, at start, not on the first call."""
    service.build_resources(appbuilder.baseviews)
    app = appbuilder.get_app
    app.register_blueprint(blueprint)
    app.extensions["csrf"].exempt(blueprint)


def _language() -> str:
    languages = list(current_app.config.get("LANGUAGES") or {"en": {}})
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _error(status: int, message: str, errors: dict | None = None, headers: dict | None = None) -> Response:
    response = jsonify({"message": message, **({"errors": errors} if errors else {})})
    response.status_code = status
    response.headers.update(headers or {})
    return response


@blueprint.before_request
def _authenticate():
    """The bearer token's user becomes the request's user; no token, no call."""
    request.babel_locale, request.babel_translations = Locale.parse(_language()), None  # Accept-Language
    try:
        verify_jwt_in_request()
        user = get_current_user()
    except (JWTExtendedException, PyJWTError):
        user = None
    if user is None:
        return _error(401, gettext("Sign in with POST /api/v1/security/login and send the token as "
                                   "'Authorization: Bearer <token>'."), headers={"WWW-Authenticate": "Bearer"})
    g.user = g._login_user = user  # Flask-Login's current_user too: the cookie's user, if any, is not used
    current_app.appbuilder.sm.forget_permissions()
    if getattr(user, "must_change_password", False):
        return _error(403, gettext("Choose your own password before you go on: the one you were given is known to "
                                   "someone else."))
    return None


@blueprint.errorhandler(service.ApiError)
def _refused(exc: service.ApiError):
    return _error(exc.status, exc.message, exc.errors, exc.headers)


@blueprint.errorhandler(HTTPException)
def _http(exc: HTTPException):
    allow = {key: value for key, value in exc.get_headers() if key == "Allow"}  # not its HTML content type
    return _error(exc.code or 400, error_text(exc.code or 400), headers=allow)


def _resource(name: str, operation: str, one: bool) -> service.Resource:
    """The resource and the right to `operation` on it: 404 unknown, 405 not offered, 403 not allowed."""
    resource = service.resources().get(name)
    if resource is None:
        raise service.ApiError(404, gettext("There is no such resource."))
    if operation not in resource.operations:
        raise service.ApiError(405, error_text(405), headers={"Allow": ", ".join(resource.methods(one))})
    if not current_app.appbuilder.sm.has_access(resource.permission(operation), resource.view.class_permission_name):
        raise service.ApiError(403, error_text(403))
    return resource


def _body() -> dict:
    """The JSON object sent: 415 for another type, 413 over the limit, 400 for anything but an object."""
    if request.mimetype != "application/json":
        raise service.ApiError(415, gettext("Send the body as JSON (Content-Type: application/json)."))
    too_large = service.ApiError(413, gettext("The body is larger than %(size)s.", size="1 MiB"))
    if (request.content_length or 0) > service.BODY_MAX_BYTES:
        raise too_large
    raw = request.get_data(cache=False)
    if len(raw) > service.BODY_MAX_BYTES:
        raise too_large
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise service.ApiError(400, gettext("The body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise service.ApiError(400, gettext("The body must be a JSON object."))
    return body


def _refuse_constant(name: str):
    raise ValueError(name)  # NaN and Infinity are not JSON


def _record(resource: service.Resource, item, status: int = 200) -> Response:
    """The record as its page shows it to this user now (re-read: masked values stay masked)."""
    shown = resource.view.get_item(str(item.pk)) if "show" in resource.operations else None
    response = jsonify(service.serialize(resource.view, shown) if shown is not None else {"id": str(item.pk)})
    response.status_code = status
    if status == 201:
        response.headers["Location"] = url_for("portal_api.record", resource=resource.name, pk=str(item.pk))
    return response


@blueprint.route("/openapi.json", methods=["GET"])
def openapi():
    """The OpenAPI 3.0 document of every resource (signed-in users: it shows the schema, never data)."""
    found = service.resources()
    key = f"{request.babel_locale}:{id(found)}"  # rebuilt with the resources (tests add views after start)
    if key not in _DOCUMENTS:
        _DOCUMENTS[key] = schema.openapi_document(found)
    return jsonify(_DOCUMENTS[key])


@blueprint.route("/<resource>/", methods=["GET", "POST"])
def collection(resource: str):
    if request.method == "GET":
        return jsonify(service.list_records(_resource(resource, "list", False), request.args))
    found = _resource(resource, "add", False)
    return _record(found, service.create(found, _body()), 201)


@blueprint.route("/<resource>/<pk>", methods=["GET", "PUT", "PATCH", "DELETE"])
def record(resource: str, pk: str):
    if request.method == "GET":
        found = _resource(resource, "show", True)
        return jsonify(service.serialize(found.view, service.get_record(found, pk)))
    if request.method == "DELETE":
        service.delete(_resource(resource, "delete", True), pk)
        return Response(status=204)
    found = _resource(resource, "edit", True)
    item = service.get_record(found, pk)
    return _record(found, service.update(found, item, _body(), partial=request.method == "PATCH"))
