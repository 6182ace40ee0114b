"""Application factory: the only place that wires configuration, database, security, views and CLI together."""

from __future__ import annotations

import logging

from flask import Flask
from flask_appbuilder import AppBuilder
from flask_wtf.csrf import CSRFProtect

import portal.quiet  # noqa: F401  (first: silences known warnings before FAB is imported)
from portal import audit, crypto, db, notify, startup, web
from portal.passwords import fab_validator
from portal.quiet import quiet_fab_logs
from portal.security import PortalSecurityManager, sync_roles

log = logging.getLogger("portal")
# what keeps the portal from starting; the portal command and wsgi.py print them as one line, without a traceback
START_PROBLEMS = (db.DatabaseUnreachable, crypto.KeyProblem, startup.UnsafeStart)


def create_app(config: object | str = "portal.config.Config", **overrides) -> Flask:
    """Build a configured app; raises db.DatabaseUnreachable when MONGODB_URI does not answer, and
    crypto.KeyProblem when a server database has no (valid) PORTAL_FILE_KEY, and startup.UnsafeStart when it
    would be served with a published secret key or demo password."""
    quiet_fab_logs()
    app = Flask(__name__)
    app.config.from_object(config)
    app.config.update(overrides)
    app.config.update(FAB_PASSWORD_COMPLEXITY_ENABLED=True, FAB_PASSWORD_COMPLEXITY_VALIDATOR=fab_validator)
    store_line = db.connect(app.config["MONGODB_URI"], app.config["MONGODB_DB"], app.config["MONGODB_TIMEOUT_MS"])
    app.config["PORTAL_STORE"] = db.store_kind()
    if app.config["PORTAL_STORE"] == "embedded":
        log.warning(store_line)
    else:
        log.info(store_line)
    crypto.configure(app.config)
    startup.enforce(app.config, accounts=False)  # before anything is written
    audit.connect_signals()
    notify.configure(app.config)
    CSRFProtect(app)  # before AppBuilder, see fab-mongo/GUIDE.md 2.13
    web.init_app(app)

    from views import register_views
    from views.home import HomeIndexView

    appbuilder = AppBuilder(security_manager_class=PortalSecurityManager, indexview=HomeIndexView,
                            base_template="portal/base.html")
    with app.app_context():
        appbuilder.init_app(app, None)
        register_views(appbuilder)
        db.ensure_indexes()
        sync_roles(appbuilder)
        if app.config["PORTAL_STORE"] == "embedded" or (app.config.get("SEED_DEMO")
                                                        and startup.may_seed_demo(app.config)):
            from seeds import demo, reference

            reference.load()
            demo.load(app)
        startup.enforce(app.config, accounts=True)  # demo accounts still opening with the published password

    from portal.cli import portal_cli

    app.cli.add_command(portal_cli)
    return app
