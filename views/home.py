"""The home page: who I am, where I sit in the org tree, what needs my action now (the same items as `portal
remind`), approvals waiting, my recent records; search-as-you-type."""

from flask import abort, current_app, g, jsonify, request, url_for
from flask_appbuilder import BaseView, IndexView, expose, has_access

from models.audit import AUDIT_ACTIONS
from models.common import choice_label, utcnow
from portal import approvals, home, scope, settings
from portal.compat import LOOKUPS
from views.approvals import nav_counts
from views.org import my_employee

INBOX_SHOWN = 5


class HomeIndexView(IndexView):
    """The portal's start page for every user (anonymous users see the sign-in prompt)."""

    index_template = "portal/index.html"
    _record_views: dict | None = None

    @expose("/")
    def index(self):
        user = getattr(g, "user", None)
        signed_in = bool(user is not None and getattr(user, "is_authenticated", False))
        if not signed_in:
            return self.render_template(self.index_template, appbuilder=self.appbuilder, employee=None, roles=[])
        employee, actor, now = my_employee(), scope.actor(), utcnow()
        waiting = nav_counts()["inbox"]
        return self.render_template(
            self.index_template, appbuilder=self.appbuilder, employee=employee, roles=sorted(scope.role_names()),
            groups=home.needs_action(actor.employee_id, now), waiting=waiting,
            inbox=approvals.inbox(actor, settings.local_today(now), limit=INBOX_SHOWN) if waiting else [],
            recent=[self._linked(row) for row in home.recent_records(user.username)], to_local=settings.to_local)

    def _linked(self, row: dict) -> dict:
        """An audit entry with the label of its collection and a link to its record's page, when a view the user may
        open shows that collection (a deletion has no page to link)."""
        views = self.record_views().get(row["collection"], [])
        view = next((v for v in views if self.appbuilder.sm.has_access("can_show", v.class_permission_name)), None)
        named = view or next(iter(views), None)
        return {**row, "action_label": choice_label(AUDIT_ACTIONS, row.get("action")),
                "what": getattr(named, "list_title", None) or row["collection"],
                "url": url_for(f"{type(view).__name__}.show", pk=row["record_id"])
                if view is not None and row.get("action") != "delete" else None}

    def record_views(self) -> dict:
        """Collection -> the model views with a record page over it, from appbuilder.baseviews (built once)."""
        if self._record_views is None:
            found: dict = {}
            for view in self.appbuilder.baseviews:
                document = getattr(getattr(view, "datamodel", None), "obj", None)
                if document is None or f"{type(view).__name__}.show" not in current_app.view_functions:
                    continue
                found.setdefault(document._get_collection_name(), []).append(view)
            self._record_views = found
        return self._record_views


class LookupView(BaseView):
    """Search-as-you-type for the large collections (customers, employees): 20 matches per page, name and
    number only, never a whole collection in a page (PERFORMANCE.md)."""

    route_base = "/lookup"
    class_permission_name = "LookupView"

    @expose("/<kind>/")
    @has_access
    def search(self, kind):
        lookup = LOOKUPS.get(kind)
        if lookup is None:
            abort(404)
        text = request.args.get("q", "", type=str)[:64]
        page = max(0, min(request.args.get("page", 1, type=int) - 1, 50))
        rows, more = lookup.search(text, page)
        return jsonify({"results": [{"id": str(row.pk), "text": str(row)} for row in rows],
                        "pagination": {"more": more}})
