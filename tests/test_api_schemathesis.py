"""Schemathesis against the API's own OpenAPI document (issue 9 item 5, SECURITY.md: no 500 to any input): every
operation, as Admin and as a Clerk, answers no 5xx, only the status codes, content types and response schemas the
document declares. Reads and updates of one record go to a real record of the resource the user sees (random ids
would only ever meet a 404); deletes to random ids. Bounded: a few derandomized examples per operation, no
shrinking; every collection is put back afterwards, since generated updates may change demo records."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import DEMO_PASSWORD, ROLE_USERS, _documents

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 3  # per operation and role: ~330 operations, about 15 s a role
BOUNDED = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=False,
                   phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


def _token(app, role: str) -> str:
    response = app.test_client(use_cookies=False).post("/api/v1/security/login", json={
        "username": ROLE_USERS[role], "password": DEMO_PASSWORD, "provider": "db"})
    return response.json["access_token"]


@pytest.fixture
def restored(db):
    """Every collection as it was before the test, whatever the generated calls changed."""
    saved = {document: list(document._get_collection().find()) for document in _documents()}
    yield
    for document, rows in saved.items():
        document._get_collection().delete_many({})
        if rows:
            document._get_collection().insert_many(rows)


def _a_record(client, headers: dict, path: str) -> str | None:
    """The id of the first record the user sees in the collection of `path` (/api/v1/<name>/{id})."""
    response = client.get(path.replace("{id}", "") + "?page_size=1", headers=headers)
    items = response.json.get("items") if response.status_code == 200 else None
    return items[0]["id"] if items else None


@pytest.mark.parametrize("role", ["Admin", "Clerk"])
def test_the_api_keeps_to_its_openapi_document(app, restored, role):
    headers = {"Authorization": f"Bearer {_token(app, role)}"}
    client = app.test_client(use_cookies=False)
    schema = schemathesis.openapi.from_dict(client.get("/api/v1/openapi.json", headers=headers).json)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/security/login":
            continue  # FAB's login: random credentials would only feed the lockout (tested in test_api.py)
        fixed = {}
        if "{id}" in operation.path and operation.method != "delete":
            record = _a_record(client, headers, operation.path)
            fixed = {"path_parameters": {"id": record}} if record else {}

        @BOUNDED
        @given(case=operation.as_strategy(**fixed))
        def run(case):
            response = case.call(app=app, headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup; then the next one
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc).strip()[:600]}")
    assert not failures, "\n\n".join(failures[:10])
