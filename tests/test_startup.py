"""The start-up refusal (issue 10 item 4): a server database is not served with a published secret key or demo
password; the embedded store starts with no configuration. A server is simulated as tests/test_crypto.py does."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.security import check_password_hash

from portal import cli, db, startup
from portal.config import DEFAULT_DEMO_PASSWORD, Config, TestConfig

OWN_KEY = "9f2c4e7a1b3d5f6e8a0c2e4f6a8b0d1c3e5f7a9b"  # 40 characters of its own
OWN_PASSWORD = "a demo passphrase of our own"
ROOT = Path(__file__).resolve().parent.parent


def server(**config) -> dict:
    """The configuration of a server database, sound unless a test spoils one item."""
    return {"PORTAL_STORE": "mongodb", "SECRET_KEY": OWN_KEY, "SECRET_KEY_FROM_ENV": True, "SEED_DEMO": False,
            "DEMO_PASSWORD": DEFAULT_DEMO_PASSWORD, **config}


@pytest.fixture
def a_server(monkeypatch):
    """create_app on a server that answers (nothing is connected: the refusal comes before any write)."""
    monkeypatch.setattr(db, "connect", lambda *args: "MongoDB at mongodb://db.example/portal")
    monkeypatch.setattr(db, "store_kind", lambda: "mongodb")

    def config(**values):
        return type("ServerConfig", (Config,), {"FILE_KEY": TestConfig.FILE_KEY, "SECRET_KEY": OWN_KEY,
                                                "SECRET_KEY_FROM_ENV": True, "SEED_DEMO": False, **values})

    return config


@pytest.mark.parametrize(("key", "from_env"), [
    ("0" * 64, False),  # made for this start: PORTAL_SECRET_KEY not set
    ("change-me", True), ("secret", True), (TestConfig.SECRET_KEY, True),  # placeholders
    ("a1b2c3d4e5f6", True),  # too short
    ("ab" * 20, True),  # long, but two characters
])
def test_a_server_database_with_a_default_or_placeholder_secret_key_is_refused(key, from_env):
    found = startup.problems(server(SECRET_KEY=key, SECRET_KEY_FROM_ENV=from_env), accounts=False)
    assert len(found) == 1 and found[0].startswith("PORTAL_SECRET_KEY") and "secrets.token_hex(32)" in found[0]


def test_create_app_refuses_a_server_database_without_its_own_secret_key(a_server):
    with pytest.raises(startup.UnsafeStart, match="PORTAL_SECRET_KEY is not set"):
        from portal import create_app

        create_app(a_server(SECRET_KEY_FROM_ENV=False))


def test_demo_data_with_the_published_demo_password_is_refused_before_it_is_seeded(a_server):
    from portal import create_app

    assert startup.problems(server(SEED_DEMO=True), accounts=False) == [
        "PORTAL_SEED_DEMO is on with the published demo password: set PORTAL_DEMO_PASSWORD to a password of your "
        "own (or PORTAL_SEED_DEMO=false)."]
    assert not startup.may_seed_demo(server(SEED_DEMO=True, START_REFUSAL="report"))
    with pytest.raises(startup.UnsafeStart, match="PORTAL_DEMO_PASSWORD"):
        create_app(a_server(SEED_DEMO=True, DEMO_PASSWORD=DEFAULT_DEMO_PASSWORD))


def test_demo_accounts_still_opening_with_the_published_password_are_refused_until_seed_gives_them_ours(
        app, make_user, monkeypatch):
    from seeds import demo

    probe = make_user("Employee", username="demo_probe", password=DEFAULT_DEMO_PASSWORD)
    monkeypatch.setattr(demo, "ACCOUNTS", (("demo_probe", "Employee"),))
    with app.app_context():
        found = startup.problems(server(), accounts=True)
        assert found == [startup.demo_account_problem()] and "demo_probe still open with" in found[0]
        assert "portal seed --demo" in found[0]
        demo._rekey(app.appbuilder.sm, probe, OWN_PASSWORD)  # what `portal seed --demo` does to an account
    assert startup.problems(server(DEMO_PASSWORD=OWN_PASSWORD, SEED_DEMO=True), accounts=True) == []
    assert check_password_hash(probe.reload().password, OWN_PASSWORD)


def test_a_server_database_with_its_own_key_and_demo_password_starts(app):
    assert startup.problems(server(SEED_DEMO=True, DEMO_PASSWORD=OWN_PASSWORD), accounts=False) == []
    assert startup.may_seed_demo(server(SEED_DEMO=True, DEMO_PASSWORD=OWN_PASSWORD))
    assert startup.enforce(server(SEED_DEMO=True, DEMO_PASSWORD=OWN_PASSWORD), accounts=False) is None


def test_portal_check_reports_the_refusal_and_portal_run_refuses(app, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_STORE", "mongodb")
    monkeypatch.setitem(app.config, "SECRET_KEY_FROM_ENV", False)
    runner = CliRunner()
    with app.app_context():
        checked = runner.invoke(cli.portal_cli, ["check"])
        run = runner.invoke(cli.portal_cli, ["run", "--port", "9"])
    assert checked.exit_code == 1
    assert "BAD start-up: PORTAL_SECRET_KEY is not set" in checked.output
    assert "BAD start-up: The demo accounts " in checked.output  # the demo accounts of the test database
    assert isinstance(run.exception, startup.UnsafeStart) and "Portal on" not in run.output


def test_the_portal_command_and_wsgi_print_the_refusal_as_one_line_without_a_traceback(monkeypatch, capsys):
    import portal

    def refused(*args, **kwargs):
        raise startup.UnsafeStart("PORTAL_SECRET_KEY is not set: ...")

    monkeypatch.setattr(cli.main, "create_app", refused)
    with pytest.raises(SystemExit) as stopped:
        cli.main.main(["check"], prog_name="portal")
    assert stopped.value.code == 1
    assert capsys.readouterr().err == "error: PORTAL_SECRET_KEY is not set: ...\n"

    monkeypatch.setattr(portal, "create_app", refused)
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(ROOT / "wsgi.py"))
    assert stopped.value.code == 4  # gunicorn's "App failed to load": its master stops
    assert capsys.readouterr().err == "error: PORTAL_SECRET_KEY is not set: ...\n"


def test_the_embedded_store_starts_with_no_configuration():
    assert startup.problems({"PORTAL_STORE": "embedded", "SECRET_KEY_FROM_ENV": False, "SEED_DEMO": True,
                             "DEMO_PASSWORD": DEFAULT_DEMO_PASSWORD}) == []
    bare = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_") and k != "MONGODB_URI"}
    result = subprocess.run([sys.executable, "-c", "from portal.cli import main; main()", "check"],
                            capture_output=True, text=True, env=bare, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok  start-up: allowed" in result.stdout


@pytest.mark.parametrize(("hops", "seen"), [(0, "127.0.0.1 False"), (1, "203.0.113.7 True")])
def test_behind_nginx_the_client_address_and_https_come_from_its_forwarded_headers(hops, seen):
    from flask import Flask, request

    from portal.web import trust_proxies

    bare = Flask(__name__)
    bare.config["PROXY_COUNT"] = hops  # PORTAL_PROXY_COUNT
    trust_proxies(bare)
    bare.add_url_rule("/who", "who", lambda: f"{request.remote_addr} {request.is_secure}")
    answer = bare.test_client().get("/who", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert answer.data.decode() == seen  # the login limit counts this address; HSTS and cookies follow https


def test_docs_deploy_names_every_environment_variable_of_the_configuration_and_only_existing_commands():
    import re

    config = (ROOT / "portal" / "config.py").read_text()
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    variables = set(re.findall(r'"((?:PORTAL|MONGODB)_[A-Z_]+)"', config)) | {"PORTAL_LOCALE"}
    assert len(variables) > 30 and {v for v in variables if f"`{v}`" not in deploy} == set()
    used = set(re.findall(r"(?:`|^|bin/)portal ([a-z][a-z-]+)", deploy, re.M))  # in code, not in prose
    assert {"backup", "restore", "check", "sync-roles", "seed", "remind", "load"} <= used
    assert used <= set(cli.main.commands)
