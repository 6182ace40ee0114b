"""The `portal` command: run, seed, create-admin, sync-roles, remind, backup, restore, check (also as
`flask portal ...`)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from portal import audit, crypto, db

portal_cli = AppGroup("portal", help="Portal maintenance commands.")


@portal_cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@with_appcontext
def run_command(host: str, port: int) -> None:
    """Start the portal (the embedded store is seeded with demo data at start)."""
    app = current_app._get_current_object()
    click.echo(f"Portal on http://{host}:{port}/ ({app.config['PORTAL_STORE']} store)")
    if app.config["PORTAL_STORE"] == "embedded":
        click.echo(db.EMBEDDED_WARNING, err=True)
        click.echo(f"Demo accounts: admin, branch_head, sales_head, ... password {app.config['DEMO_PASSWORD']!r}")
    from werkzeug.serving import run_simple  # app.run() is a no-op inside Flask's own CLI

    run_simple(host, port, app, threaded=True, use_reloader=False)


@portal_cli.command("seed")
@click.option("--demo", is_flag=True, help="Also load the demo company, employees and one account per role.")
@with_appcontext
def seed_command(demo: bool) -> None:
    """Load reference data (and demo data) into the configured database; safe to re-run."""
    from seeds import demo as demo_seed
    from seeds import reference

    audit.set_cli_actor("cli:seed")
    counts = reference.load()
    click.echo("Reference data: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if demo:
        counts = demo_seed.load(current_app._get_current_object())
        click.echo("Demo data: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@portal_cli.command("create-admin")
@click.option("--username", default="admin", show_default=True)
@click.option("--firstname", default="Portal", show_default=True)
@click.option("--lastname", default="Admin", show_default=True)
@click.option("--email", required=True)
@click.password_option(help="At least 12 characters, not a common password.")
@with_appcontext
def create_admin_command(username: str, firstname: str, lastname: str, email: str, password: str) -> None:
    """Create an administrator account."""
    from portal.passwords import password_problem

    sm = current_app.appbuilder.sm
    problem = password_problem(password, username, is_admin=True)
    if problem:
        raise click.ClickException(problem)
    if sm.find_user(username=username) or sm.find_user(email=email):
        raise click.ClickException(f"A user named {username!r} or with e-mail {email!r} already exists.")
    audit.set_cli_actor("cli:create-admin")
    if not sm.add_user(username, firstname, lastname, email, sm.find_role(sm.auth_role_admin), password):
        raise click.ClickException("The user could not be created; see the log.")
    click.echo(f"Administrator {username} created.")


@portal_cli.command("sync-roles")
@with_appcontext
def sync_roles_command() -> None:
    """Set the portal's roles to exactly the permissions of the role table (safe to re-run)."""
    from portal.security import sync_roles

    audit.set_cli_actor("cli:sync-roles")
    for role, count in sync_roles(current_app.appbuilder).items():
        click.echo(f"{role}: {count} permissions")


@portal_cli.command("remind")
@with_appcontext
def remind_command() -> None:
    """Tell approvers about steps past their time limit (their heads after a second limit) and send the
    e-mails still owed. Idempotent: run it from cron as often as you like."""
    from portal import reminders

    audit.set_cli_actor("cli:remind")
    sent, (mailed, failed) = reminders.run()
    for item in sent:
        click.echo(f"{item.kind}: {item.title} · {item.detail} · {item.recipients} notified")
    click.echo(f"{len(sent)} reminders, {mailed} e-mails sent, {failed} e-mails failed")
    if current_app.config.get("SMTP_HOST") and failed:
        sys.exit(2)


@portal_cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(file: str) -> None:
    """Write every collection of the database to FILE, encrypted with PORTAL_FILE_KEY when it is set (DSC 7(2)2)."""
    import mongoengine
    from pymongo.errors import PyMongoError

    from portal import backup

    audit.set_cli_actor("cli:backup")
    try:
        counts = backup.write(mongoengine.get_db(), file)
    except OSError as exc:
        raise click.ClickException(f"{file} cannot be written: {exc.strerror or exc}") from None
    except PyMongoError as exc:
        raise click.ClickException(f"The database failed during the backup ({exc.__class__.__name__}); "
                                   f"{file} was not written.") from None
    for name, count in counts.items():
        click.echo(f"{name}: {count}")
    sealed = "encrypted" if crypto.has_configured_key() else "NOT encrypted: PORTAL_FILE_KEY is not set"
    click.echo(f"{sum(counts.values())} documents in {len(counts)} collections written to {file} ({sealed})")


@portal_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Replace each collection in FILE even though the database holds data.")
@with_appcontext
def restore_command(file: str, force: bool) -> None:
    """Load a backup FILE into an empty database; the whole file is checked before the first write."""
    import mongoengine
    from pymongo.errors import PyMongoError

    from portal import backup

    audit.set_cli_actor("cli:restore")
    try:
        contents = backup.restore(mongoengine.get_db(), file, force=force)
    except backup.IncompleteRestore as exc:
        raise click.ClickException(str(exc)) from None
    except PyMongoError as exc:
        raise click.ClickException(f"The database failed during the restore ({exc.__class__.__name__}); it may "
                                   "hold part of the file: restore it again with --force.") from None
    except backup.BackupError as exc:
        raise click.ClickException(f"{exc} Nothing was written.") from None
    for name, count in contents.counts.items():
        click.echo(f"{name}: {count}")
    click.echo(f"{sum(contents.counts.values())} documents in {len(contents.counts)} collections restored from "
               f"{file} (written {contents.created_at:%Y-%m-%d %H:%M} UTC)")


@portal_cli.command("check")
@with_appcontext
def check_command() -> None:
    """Check the configuration and the database; one line each, exit 1 on a problem."""
    config = current_app.config
    problems = 0
    lines = [
        ("store", config["PORTAL_STORE"], True),
        ("database", "reachable" if db.ping() else "UNREACHABLE", db.ping()),
        ("secret key", "from PORTAL_SECRET_KEY" if config["SECRET_KEY_FROM_ENV"] else
         "random per start (set PORTAL_SECRET_KEY so sessions survive restarts)", config["SECRET_KEY_FROM_ENV"]
         or config["PORTAL_STORE"] == "embedded"),
        ("secure cookies", str(config["SESSION_COOKIE_SECURE"]),
         config["SESSION_COOKIE_SECURE"] or config["PORTAL_STORE"] == "embedded"),
        ("login rate limit", f"{config['LOGIN_RATE_LIMIT']} per IP ({config['RATELIMIT_STORAGE_URI']})",
         config["RATELIMIT_ENABLED"]),
        ("default locale", config["BABEL_DEFAULT_LOCALE"], True),
        ("e-mail", f"{config['SMTP_HOST']}:{config['SMTP_PORT']}" if config["SMTP_HOST"] else
         "off (set PORTAL_SMTP_HOST to e-mail notifications)", True),
        ("time zone", config["TIMEZONE"], True),
        ("file key", "from PORTAL_FILE_KEY" if crypto.has_configured_key() else
         "made for this start (embedded store; set PORTAL_FILE_KEY to encrypt backups)", True),
    ]
    for name, value, ok in lines:
        click.echo(f"{'ok ' if ok else 'BAD'} {name}: {value}")
        problems += not ok
    if problems:
        sys.exit(1)


def _factory():
    from portal import create_app

    return create_app()


class _PortalGroup(FlaskGroup):
    def main(self, *args, **kwargs):
        try:
            return super().main(*args, **kwargs)
        except (db.DatabaseUnreachable, crypto.KeyProblem) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


main = _PortalGroup(name="portal", help="The regulation portal.", create_app=_factory, add_default_commands=False,
                    add_version_option=False, load_dotenv=False)
for _command in portal_cli.commands.values():
    main.add_command(_command)
