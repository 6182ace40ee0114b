"""The start-up refusal (issue 10 item 4): a server database is never served with a secret key or a demo password
that anyone can read in the README or the source. Whoever knows the key signs their own session cookie (any user,
any role); whoever knows the demo password opens the demo accounts, Admin among them.

The embedded store, whose data dies with the process, starts with no configuration at all. `START_REFUSAL` says
what `create_app` does with a problem: "raise" (gunicorn, `wsgi:app`), "report" (the `portal` command: `portal run`
refuses, `portal check` reports, the maintenance commands still run so that the problem can be fixed) or "off"
(the test configuration, which uses a fixed key on purpose).
"""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.security import check_password_hash

from portal.config import DEFAULT_DEMO_PASSWORD

MIN_SECRET_LENGTH = 32
SECRET_HELP = "Generate one with: python -c 'import secrets; print(secrets.token_hex(32))'"
# keys seen in examples, tutorials and this project's own test configuration
PLACEHOLDER_SECRETS = frozenset({
    "change-me", "changeme", "change_me", "change-this", "replace-me", "secret", "secret-key", "secret_key",
    "your-secret-key", "dev", "development", "test", "testing", "portal", "insecure", "not-a-secret",
    "test-only-secret-key-of-at-least-32-bytes!!",
})


class UnsafeStart(RuntimeError):
    """A server database with a published secret key or demo password; the message names what to set."""


def _server(config: Mapping) -> bool:
    return config.get("PORTAL_STORE") not in (None, "embedded")


def secret_key_problem(config: Mapping) -> str | None:
    """The key is made per start (sessions end at every restart and differ between workers), or guessable."""
    if not config.get("SECRET_KEY_FROM_ENV"):
        return ("PORTAL_SECRET_KEY is not set: a server database needs a fixed secret key of its own "
                f"({MIN_SECRET_LENGTH}+ characters), the same in every worker. {SECRET_HELP}")
    key = str(config.get("SECRET_KEY") or "")
    if key.strip().lower() in PLACEHOLDER_SECRETS or len(key) < MIN_SECRET_LENGTH or len(set(key)) < 8:
        return (f"PORTAL_SECRET_KEY is a placeholder or shorter than {MIN_SECRET_LENGTH} characters: anyone who "
                f"guesses it signs their own session. {SECRET_HELP}")
    return None


def demo_seed_problem(config: Mapping) -> str | None:
    """Demo data seeded into the database with the password printed in the README."""
    if config.get("SEED_DEMO") and config.get("DEMO_PASSWORD") == DEFAULT_DEMO_PASSWORD:
        return ("PORTAL_SEED_DEMO is on with the published demo password: set PORTAL_DEMO_PASSWORD to a password of "
                "your own (or PORTAL_SEED_DEMO=false).")
    return None


def demo_account_problem() -> str | None:
    """Active demo accounts (the usernames of seeds/demo.py) that still open with the published password: at most
    thirteen hash checks, and none on a database without demo accounts."""
    from models.users import PortalUser
    from seeds.demo import ACCOUNTS

    rows = PortalUser._get_collection().find(
        {"username": {"$in": [account[0] for account in ACCOUNTS]}, "active": True}, {"username": 1, "password": 1})
    still = sorted(row["username"] for row in rows
                   if row.get("password") and check_password_hash(row["password"], DEFAULT_DEMO_PASSWORD))
    if not still:
        return None
    return (f"The demo accounts {', '.join(still)} still open with the published demo password: set "
            "PORTAL_DEMO_PASSWORD to a password of your own and run `portal seed --demo` (it gives them that "
            "password), or deactivate them.")


def problems(config: Mapping, accounts: bool = True) -> list[str]:
    """Everything that keeps a server database from being served; empty on the embedded store. `accounts` adds the
    hash checks of the demo accounts (the database must be connected)."""
    if not _server(config):
        return []
    found = [secret_key_problem(config), demo_seed_problem(config)]
    if accounts:
        found.append(demo_account_problem())
    return [problem for problem in found if problem]


def may_seed_demo(config: Mapping) -> bool:
    """Demo data goes into a server database only with a password of the operator's own."""
    return config.get("START_REFUSAL", "raise") == "off" or not (_server(config) and demo_seed_problem(config))


def enforce(config: Mapping, accounts: bool) -> None:
    """Raise UnsafeStart naming what to set, when `START_REFUSAL` is "raise" (the default)."""
    if config.get("START_REFUSAL", "raise") != "raise":
        return
    found = problems(config, accounts)
    if found:
        raise UnsafeStart(" ".join(found))
