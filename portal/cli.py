"""The `portal` command: run, seed, create-admin, sync-roles, remind, backup, restore, check (also as
`flask portal ...`)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from portal import START_PROBLEMS, audit, crypto, db, startup

portal_cli = AppGroup("portal", help="Portal maintenance commands.")


@portal_cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@with_appcontext
def run_command(host: str, port: int) -> None:
    """Start the portal (the embedded store is seeded with demo data at start)."""
    app = current_app._get_current_object()
    refused = startup.problems(app.config)
    if refused:
        raise startup.UnsafeStart(" ".join(refused))
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

    if demo and current_app.config["PORTAL_STORE"] != "embedded" and not startup.may_seed_demo(
            {**current_app.config, "SEED_DEMO": True}):
        raise click.ClickException("The demo accounts would open with the published demo password: set "
                                   "PORTAL_DEMO_PASSWORD to a password of your own first.")
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
@click.option("--dry-run", is_flag=True, help="List every item due now (reminded or not) and send nothing.")
@click.option("--user", "username", default=None, help="Only the items this user must act on (implies --dry-run).")
@with_appcontext
def remind_command(dry_run: bool, username: str | None) -> None:
    """Tell whoever must act about what is overdue (approvals, complaints, appraisal steps, retakes, contracts,
    receivables, stock, ...) once, and send the e-mails still owed. Idempotent: run it from cron as often as you
    like. With --dry-run, list the same items the home page shows, without sending."""
    from portal import reminders

    if dry_run or username is not None:
        _remind_dry_run(reminders, username)
        return
    audit.set_cli_actor("cli:remind")
    sent, (mailed, failed) = reminders.run()
    for item in sent:
        click.echo(f"{item.kind}: {item.title} · {item.detail} · {item.recipients} notified")
    click.echo(f"{len(sent)} reminders, {mailed} e-mails sent, {failed} e-mails failed")
    if current_app.config.get("SMTP_HOST") and failed:
        sys.exit(2)


def _remind_dry_run(reminders, username: str | None) -> None:
    """One line per item due now: kind, title, link, due date, how many must act, and whether a run would send it."""
    items = reminders.pending()
    if username is not None:
        from models.users import PortalUser

        if not PortalUser.objects(username=username).count():
            raise click.ClickException(f"No user named {username!r}.")
        person = reminders.person_of(username)
        if person is None:
            raise click.ClickException(f"{username} is not linked to an employee record: nothing is due for them.")
        items = [(source, due) for source, due in items if person in due.people]
    for _source, due in items:
        when = f"{due.when:%Y-%m-%d}" if due.when else "-"
        state = "reminded" if due.reminded else "to send"
        click.echo(f"{due.kind}: {due.title} · {due.link} · due {when} · {len(due.people)} to act · {state}")
    waiting = sum(1 for _source, due in items if not due.reminded)
    click.echo(f"{len(items)} items due, {waiting} not reminded yet (dry run: nothing sent)")


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
    refused = startup.problems(config)
    lines += [("start-up", problem, False) for problem in refused] or [("start-up", "allowed", True)]
    for name, value, ok in lines:
        click.echo(f"{'ok ' if ok else 'BAD'} {name}: {value}")
        problems += not ok
    if problems:
        sys.exit(1)


@portal_cli.command("bench", with_appcontext=False)  # builds its own app on its own database
@click.option("--profile", type=click.Choice(["XS", "S", "L"], case_sensitive=False), default="XS", show_default=True,
              help="Data set: XS (CI), S (1k employees, 10k customers, 100k orders), L (10x S, for a server).")
@click.option("--repeat", default=5, show_default=True, type=click.IntRange(1, 1000), help="Measured visits per page.")
@click.option("--budgets", "budgets_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Budgets file (default: the committed portal/data/bench_budgets.json).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Also write the report here.")
@click.option("--page-size", default=25, show_default=True, type=click.IntRange(1, 100), help="Rows per list page.")
@click.option("--scale", default=1, show_default=True, type=click.IntRange(1, 100),
              help="Then grow the data to this many times the profile and check that no page's round-trips grow.")
@click.option("--only", default=None, metavar="TEXT", help="Visit only the pages whose name contains TEXT.")
def bench_command(profile: str, repeat: int, budgets_path: str | None, json_path: str | None, page_size: int,
                  scale: int, only: str | None) -> None:
    """Seed a profile into a database of its own, visit every main page as its role, report round-trips, documents,
    bytes, p50/p95 and the ratio to a bare query per page; exit 1 when a budget is exceeded. With MONGODB_URI it
    uses (and drops) `<database>_bench` on that server and also explains every query."""
    from portal import bench
    from portal.config import Config

    try:
        report = bench.run(profile.upper(), repeat, budgets_path, page_size, scale, Config.MONGODB_URI,
                           Config.MONGODB_DB, echo=click.echo, only=only)
    except bench.BenchError as exc:
        raise click.ClickException(str(exc)) from None
    for line in bench.table(report):
        click.echo(line)
    if report.plans is None:
        click.echo("explain: needs a MongoDB server, skipped")
    else:
        click.echo(f"explain: {len(report.plans)} distinct queries, "
                   f"{sum(1 for p in report.plans if p['problems'])} with a bad plan")
    if json_path:
        bench.write_json(report, json_path)
    for failure in report.failures:
        click.echo(f"FAIL {failure}", err=True)
    click.echo(f"{len(report.measures)} pages, {len(report.failures)} failures ({report.seconds} s)")
    sys.exit(1 if report.failures else 0)


@portal_cli.command("load", with_appcontext=False)  # starts gunicorn, which builds the app
@click.option("--clients", default=8, show_default=True, type=click.IntRange(1, 32),
              help="Employees submitting at once (each signs in once).")
@click.option("--requests", "per_client", default=5, show_default=True, type=click.IntRange(1, 200),
              help="Requests each client submits: expense claims and leave requests in turn.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="gunicorn workers [4 on a server, 1 on the embedded store].")
@click.option("--threads", type=click.IntRange(1, 64), default=None, help="Threads per worker [4; embedded: 8].")
@click.option("--deadline", default=300, show_default=True, type=click.IntRange(10, 3600),
              help="Seconds until every request must be final.")
@click.option("--staging", is_flag=True,
              help="MONGODB_URI names a staging database: seed the demo company into it and write the load's requests.")
def load_command(clients: int, per_client: int, workers: int | None, threads: int | None, deadline: int,
                 staging: bool) -> None:
    """Start gunicorn on loopback; employees submit claims and leave while approvers decide from their inboxes,
    two sessions clicking each decision at once; then check through the API that every request ended in exactly one
    final state with one history entry per step, and that no answer was a 5xx. Exit 1 on any violation."""
    import os

    from portal import load

    if os.environ.get("MONGODB_URI") and not staging:
        raise click.ClickException("MONGODB_URI is set: the load test writes requests and the demo company into that "
                                   "database. Point it at a staging database and add --staging.")
    try:
        report = load.run(clients, per_client, workers=workers, threads=threads, deadline=deadline)
    except load.ServerDidNotStart as exc:
        raise click.ClickException(str(exc)) from None
    for line in report.lines():
        click.echo(line)
    sys.exit(1 if report.violations else 0)


def _factory():
    from portal import create_app

    return create_app(START_REFUSAL="report")  # `portal run` refuses, `portal check` reports, maintenance runs


class _PortalGroup(FlaskGroup):
    def main(self, *args, **kwargs):
        try:
            return super().main(*args, **kwargs)
        except START_PROBLEMS as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


main = _PortalGroup(name="portal", help="The regulation portal.", create_app=_factory, add_default_commands=False,
                    add_version_option=False, load_dotenv=False)
for _command in portal_cli.commands.values():
    main.add_command(_command)
