"""Audit log screen (DOMAIN 7): Auditor and Admin read it; no route can change it."""

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from models.audit import AuditEntry
from portal.compat import PortalMongoInterface
from portal.modelview import PortalModelView


def changes_table(changes) -> Markup:
    """Render the changed fields of an entry as a small old -> new table (escaped)."""
    if not changes:
        return Markup("")
    rows = "".join(f"<tr><td>{escape(c.field)}</td><td>{escape(c.old or '')}</td><td>{escape(c.new or '')}</td></tr>"
                   for c in changes)
    return Markup(f'<table class="table table-condensed"><thead><tr><th>{escape(_l("Field"))}</th>'
                  f'<th>{escape(_l("Old value"))}</th><th>{escape(_l("New value"))}</th></tr></thead>'
                  f"<tbody>{rows}</tbody></table>")


class AuditEntryView(PortalModelView):
    """The append-only audit trail, newest first."""

    datamodel = PortalMongoInterface(AuditEntry)
    class_permission_name = "AuditEntry"
    export_audited = True  # who did what: personal data of every user
    base_permissions = ["can_list", "can_show"]
    exclude_route_methods = {"add", "edit", "delete", "download", "action", "action_post"}
    regulation_clauses = ("DSC 7(3)1", "DSC 6(3)3")
    show_history = False
    list_title = show_title = _l("Audit log")
    list_columns = ["at", "user", "action", "collection", "record_id", "record_label"]
    search_columns = ["user", "action", "collection", "record_id", "at"]
    order_columns = ["at", "user", "collection"]
    base_order = ("at", "desc")
    show_columns = ["at", "user", "action", "collection", "record_id", "record_label", "note", "changes"]
    formatters_columns = {"changes": changes_table}
