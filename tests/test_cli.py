"""The `portal` command and /health (issue: CLI and database)."""

import json
import os
import subprocess
import sys

import pytest

COMMANDS = ["run", "seed", "create-admin", "sync-roles", "check"]


def portal(*args, env=None, timeout=120):
    environment = {**os.environ, **(env or {})}
    environment.pop("MONGODB_URI", None) if env is None or "MONGODB_URI" not in env else None
    return subprocess.run([sys.executable, "-c", "from portal.cli import main; main()", *args],
                          capture_output=True, text=True, env=environment, timeout=timeout)


def test_every_command_has_help():
    top = portal("--help")
    assert top.returncode == 0 and all(c in top.stdout for c in COMMANDS)
    for command in COMMANDS:
        result = portal(command, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, command


def test_check_on_the_embedded_store_reports_one_line_per_item():
    result = portal("check")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert any(line.startswith("ok  store: embedded") or "store: embedded" in line for line in lines)
    assert any("database: reachable" in line for line in lines)


def test_an_unreachable_server_gives_one_clear_line_and_exit_code_1():
    result = portal("check", env={"MONGODB_URI": "mongodb://127.0.0.1:9/portal", "PORTAL_DB_TIMEOUT_MS": "300"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: MongoDB at mongodb://127.0.0.1:9/portal")
    assert "Traceback" not in result.stderr


def test_seed_is_idempotent_and_create_admin_refuses_weak_passwords(app):
    from click.testing import CliRunner

    from portal.cli import portal_cli

    runner = CliRunner()
    with app.app_context():
        first = runner.invoke(portal_cli, ["seed", "--demo"], obj=None)
        second = runner.invoke(portal_cli, ["seed", "--demo"])
    assert first.exit_code == 0 and first.output == second.output
    assert "clauses 347" in first.output


def test_create_admin_and_sync_roles(app):
    from click.testing import CliRunner

    from models.users import PortalUser
    from portal.cli import portal_cli

    runner = CliRunner()
    with app.app_context():
        weak = runner.invoke(portal_cli, ["create-admin", "--username", "root2", "--email", "r2@example.test",
                                          "--password", "short-pass"])
        good = runner.invoke(portal_cli, ["create-admin", "--username", "root3", "--email", "r3@example.test",
                                          "--password", "a very long admin passphrase"])
        roles = runner.invoke(portal_cli, ["sync-roles"])
    assert weak.exit_code != 0 and "12 characters" in weak.output
    assert good.exit_code == 0 and PortalUser.objects(username="root3").count() == 1
    assert roles.exit_code == 0 and "Clerk:" in roles.output
    PortalUser.objects(username="root3").delete()


def test_sync_roles_is_idempotent_and_exact(app):
    from flask_appbuilder.security.mongoengine.models import Role

    from portal.security import role_permissions, sync_roles

    with app.app_context():
        clerk = Role.objects(name="Clerk").first()
        stray = Role.objects(name="Admin").first().permissions[0]
        clerk.permissions.append(stray)  # someone granted an extra permission by hand
        clerk.save()
        first = sync_roles(app.appbuilder)
        second = sync_roles(app.appbuilder)
        assert first == second
        clerk.reload()
        have = {(pv.permission.name, pv.view_menu.name) for pv in clerk.permissions}
        assert have == role_permissions(app.appbuilder, "Clerk")


def test_health_answers_json_without_secrets(browser):
    response = browser.get("/health")
    body = json.loads(response.data)
    assert response.status_code == 200 and body == {"status": "ok", "store": "embedded", "database": "up"}


@pytest.mark.parametrize("code", [404, 400])
def test_error_pages_are_friendly_and_translated(as_role, code):
    b = as_role("Employee")
    b.get("/lang/zh")
    url = "/employeeview/show/nope" if code == 404 else "/employeeview/list/?page_EmployeeView=x"
    response = b.get(url)
    assert response.status_code == code and "返回首页" in response.data.decode()


def test_portal_run_serves_the_embedded_store():
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    server = subprocess.Popen([sys.executable, "-c", "from portal.cli import main; main()", "run", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("portal run did not answer")
        assert json.loads(body)["store"] == "embedded"
        login = urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2).read().decode()
        assert 'name="username"' in login
    finally:
        server.terminate()
        server.wait(timeout=10)
