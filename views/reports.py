"""Dashboards (DOMAIN 7 "Reports", issue 9 item 2): the index of the dashboards a user may open, each dashboard's
panels with their server-drawn charts and tables, and each panel's table as CSV.

The dashboards are declared in portal.dashboards (portal.reports is the framework); this view only checks the
permission of each, reads the filters and hands over the user's scope of every view a dashboard names.
"""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext

import portal.dashboards  # noqa: F401  (declares the dashboards)
from models.org import OrgUnit
from portal import charts, registry, reports, scope, settings, sheets


class ReportsView(BaseView):
    """Dashboards: what each one shows is limited to the records of the user's scope, and a dashboard opens only
    for the roles holding its permission on this view (ROLE_TABLE "Dashboards"); another one answers 404."""

    route_base = "/reports"
    class_permission_name = "Dashboards"
    default_view = "index"
    method_permission_name = {"index": "index", "dashboard": "index", "csv": "index"}

    def allowed(self) -> list[reports.Dashboard]:
        """The dashboards the user may open, in declaration order."""
        sm = self.appbuilder.sm
        return [board for board in reports.DASHBOARDS.values()
                if sm.has_access(board.permission_name, self.class_permission_name)]

    def regulation_pages(self) -> list[tuple[str, str, str]]:
        """(clause, title, URL) of each dashboard the user may open, for the Regulations page."""
        return [(clause, str(board.title), url_for("ReportsView.dashboard", key=board.key))
                for board in self.allowed() for clause in board.clauses]

    def _board(self, key: str) -> reports.Dashboard:
        board = reports.get(key)
        if board is None or not self.appbuilder.sm.has_access(board.permission_name, self.class_permission_name):
            abort(404)
        return board

    def _scopes(self, board: reports.Dashboard) -> dict:
        """Each view the dashboard names -> the user's scope on it, as a raw filter ({}: every record)."""
        views = {getattr(v, "class_permission_name", None): v for v in self.appbuilder.baseviews}
        return {name: views[name].scope_raw() for name in board.scopes}

    def _params(self, board: reports.Dashboard, scopes: dict) -> reports.Params:
        units = allowed = None
        if "unit" in board.filters:  # one read of the tree: the unit filter and the names of units in the panels
            units = {u["_id"]: u for u in OrgUnit._get_collection().find({}, {"name": 1, "code": 1, "ancestors": 1})}
            allowed = None if not scopes[board.scopes[0]] else set(scope.visible_units())
        return reports.parse_params(board, request.args, settings.local_today(), units, allowed)

    @expose("/")
    @has_access
    def index(self):
        boards = self.allowed()
        return self.render_template("portal/reports/index.html", title=gettext("Dashboards"), boards=boards,
                                    clauses=registry.clauses_for(tuple(dict.fromkeys(
                                        c for board in boards for c in board.clauses))))

    @expose("/<key>/")
    @has_access
    def dashboard(self, key):
        board = self._board(key)
        scopes = self._scopes(board)
        params = self._params(board, scopes)
        panels = board.panels(params, scopes)
        return self.render_template("portal/reports/dashboard.html", title=str(board.title), board=board,
                                    params=params, panels=[(panel, charts.layout(panel)) for panel in panels],
                                    query=params.query(board.filters), typed=request.args,
                                    clauses=registry.clauses_for(board.clauses), boards=self.allowed())

    @expose("/<key>/csv/<panel>")
    @has_access
    def csv(self, key, panel):
        """One panel's table as CSV (formulas neutralised by portal.sheets). Bad filters go back to the page,
        which says what is wrong next to the field."""
        board = self._board(key)
        scopes = self._scopes(board)
        params = self._params(board, scopes)
        if params.errors:  # only the filters go back: no other argument reaches url_for
            typed = {name: request.args.get(name, "", type=str)[:100] for name in ("start", "end", "year", "unit")
                     if name in request.args}
            return redirect(url_for("ReportsView.dashboard", key=key, **typed))
        found = next((p for p in board.panels(params, scopes) if p.key == panel), None)
        if found is None:
            abort(404)
        reports.record_download(board, found, params)
        return sheets.download(sheets.csv_bytes(found.header(), found.sheet_rows()),
                               sheets.file_name(f"{board.key}-{found.key}", "csv"))
