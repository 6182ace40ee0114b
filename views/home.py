"""The home page: who I am, where I sit in the org tree, and where to go next; search-as-you-type."""

from flask import abort, g, jsonify, request
from flask_appbuilder import BaseView, IndexView, expose, has_access

from portal import scope
from portal.compat import LOOKUPS
from views.org import my_employee


class HomeIndexView(IndexView):
    """The portal's start page for every user (anonymous users see the sign-in prompt)."""

    index_template = "portal/index.html"

    @expose("/")
    def index(self):
        user = getattr(g, "user", None)
        signed_in = bool(user is not None and getattr(user, "is_authenticated", False))
        employee = my_employee() if signed_in else None
        return self.render_template(self.index_template, appbuilder=self.appbuilder, employee=employee,
                                    roles=sorted(scope.role_names()) if signed_in else [])


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
