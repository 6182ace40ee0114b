"""Approval screens (DOMAIN 4): my approvals, my requests, the request page, notifications, delegations,
routes and settings; plus the base of every approvable document's view (submit, lock after approval)."""

from __future__ import annotations

import time

from bson import ObjectId
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from mongoengine import ValidationError

from models.approvals import (
    APPROVER_ROLES,
    HISTORY_ACTIONS,
    REQUEST_STATES,
    STEP_STATES,
    ApprovalDelegation,
    ApprovalRequest,
    ApprovalRoute,
)
from models.common import choice_label, field_error
from models.org import Employee
from models.settings import Setting
from portal import approvals, notify, scope, settings
from portal.compat import PortalMongoInterface, formatter_for
from portal.modelview import PortalModelView, ScopedModelView

_STAMPS = ["created_at", "created_by", "updated_at", "updated_by", "version"]
_ROUTE_CLAUSES = ("BRD 8(2)2", "FSS 7(3)2", "SOC 6.1", "FSS 4(1)1", "DSC 2(2)2")
NOTES = {"moved_up": _l("Moved one level up: the head is the requester"),
         "same_approver": _l("Skipped: the same person approves an earlier step"),
         "added": _l("Added by the approver before"), "transferred": _l("Handed over by the approver")}


def document_endpoint(document: str) -> str | None:
    """The show endpoint of the view that keeps `document` (e.g. "ExpenseClaimView.show")."""
    for view in current_app.appbuilder.baseviews:
        datamodel = getattr(view, "datamodel", None)
        if isinstance(view, ApprovableView) and datamodel.obj.__name__ == document:
            return f"{type(view).__name__}.show"
    return None


def document_label(document: str) -> str:
    from models.approvals import ROUTE_DOCUMENTS

    return choice_label(ROUTE_DOCUMENTS, document)


# ---- every approvable document ------------------------------------------------------------------
APPROVAL = ["status", "submitted_at", "decided_at"]  # the "Approval" fieldset of a document


class ApprovableView(ScopedModelView):
    """A document that is submitted for approval from its page and is read-only once it is on its way."""

    show_template = "portal/approvable_show.html"

    def __init__(self, **kwargs):
        if self.unit_from is None and self.datamodel.obj.requester_field != "requested_by":
            self.unit_from = self.datamodel.obj.requester_field  # budgets name their unit themselves
        super().__init__(**kwargs)

    def run_on(self, pk, act, done: str, where=None):
        """Apply a service to a record in the user's scope; a refusal is shown on the record's page."""
        item = self.get_item(pk)
        if item is None:
            abort(404)
        try:
            result = act(item, scope.actor())
        except approvals.Refused as exc:
            flash(str(exc.message), "danger")
            return redirect(url_for(f"{type(self).__name__}.show", pk=pk))
        flash(done, "success")
        return redirect(where(result) if where else url_for(f"{type(self).__name__}.show", pk=pk))

    @expose("/submit/<pk>", methods=["POST"])
    @has_access
    def submit(self, pk):
        return self.run_on(pk, approvals.submit, gettext("Submitted for approval."),
                           lambda request_id: url_for("ApprovalsView.request_page", request_id=request_id))

    def show_context(self, item) -> dict:
        raw = approvals.load(item.approval) if item.approval else None
        name = type(self).__name__
        return {"document": item, "approval": raw, "step_title": _step_title, "to_local": settings.to_local,
                "status_label": choice_label(type(item).status.choices, item.status),
                "request_state_label": choice_label(REQUEST_STATES, raw["state"]) if raw else "",
                "can_submit": self.appbuilder.sm.has_access("can_submit", self.class_permission_name),
                "submit_endpoint": f"{name}.submit"}

    def _refuse_locked(self, item) -> None:
        """An approved (or pending, rejected, paid) document is read-only; an Admin's edit is marked as such."""
        if item.editable:
            return
        if "Admin" in scope.role_names():
            item._audit_note = f"Admin override: edited while {item.status}"
            return
        raise ValidationError(gettext("This document is %(status)s and can no longer be edited.",
                                      status=choice_label(type(item).status.choices, item.status)))

    def prefill_add(self, form) -> None:
        """A new claim or leave request is the user's own until they choose someone else."""
        field = getattr(form, self.datamodel.obj.requester_field, None)
        me = scope.current_employee_id()
        if field is not None and me is not None and self.datamodel.obj.requester_field != "requested_by":
            field.data = Employee.objects(pk=me).first()

    def place(self, item) -> None:
        """The record belongs to its requester's unit, which must be in the user's scope."""
        me = scope.current_employee_id()
        if item.requester_field == "requested_by" and item.requested_by is None and me is not None:
            item.requested_by = Employee.objects(pk=me).first()
        super().place(item)

    def pre_update(self, item):
        self._refuse_locked(item)
        super().pre_update(item)

    def pre_delete(self, item):
        if item.status != "draft" or item.approval is not None:
            raise ValidationError(gettext("Only a draft that was never submitted can be deleted."))


def _step_title(step) -> str:
    return approvals.step_title(step.get("label"), step.get("kind"), step.get("role"))


# ---- inbox, my requests, the request page ------------------------------------------------------
class ApprovalsView(BaseView):
    """What waits for me, what I asked for, and one page per request with its route, history and actions."""

    route_base = "/approvals"
    default_view = "inbox"
    class_permission_name = "ApprovalsView"
    method_permission_name = {"inbox": "inbox", "bulk": "inbox", "mine": "mine", "request_page": "request",
                              "act": "request"}
    ACTIONS = ("approve", "reject", "return", "withdraw", "add_sign", "transfer", "cc", "urge")

    @expose("/inbox/")
    @has_access
    def inbox(self):
        actor = scope.actor()
        rows = approvals.inbox(actor, settings.local_today())
        return self.render_template("portal/approvals/inbox.html", rows=rows, now=_now(), step_title=_step_title,
                                    document_label=document_label, to_local=settings.to_local)

    @expose("/bulk", methods=["POST"])
    @has_access
    def bulk(self):
        actor = scope.actor()
        done, failed = 0, []
        for value in request.form.getlist("request_id")[:100]:
            try:
                approvals.decide(value, actor, "approve", request.form.get("comment", ""))
                done += 1
            except approvals.Refused as exc:
                raw = approvals.load(value)
                visible = raw is not None and approvals.may_view(raw, actor)
                failed.append(f"{raw['title'] if visible else gettext('A request')}: {exc.message}")
        if done:
            flash(gettext("Approved %(n)s requests.", n=done), "success")
        for message in failed:
            flash(message, "warning")
        if not done and not failed:
            flash(gettext("Select the requests to approve first."), "warning")
        return redirect(url_for("ApprovalsView.inbox"))

    @expose("/mine/")
    @has_access
    def mine(self):
        rows = approvals.my_requests(scope.actor())
        return self.render_template("portal/approvals/mine.html", rows=rows, now=_now(), step_title=_step_title,
                                    document_label=document_label, request_states=REQUEST_STATES,
                                    to_local=settings.to_local)

    @expose("/request/<request_id>")
    @has_access
    def request_page(self, request_id):
        return self._page(request_id)

    @expose("/request/<request_id>/<action>", methods=["POST"])
    @has_access
    def act(self, request_id, action):
        if action not in self.ACTIONS:
            abort(404)
        actor = scope.actor()
        raw = approvals.load(request_id)
        if raw is None or not approvals.may_view(raw, actor):
            abort(404)
        form = request.form
        comment = form.get("comment", "")[:2000]
        try:
            if action in ("approve", "reject", "return"):
                to_step = form.get("to_step", "")
                step = int(to_step) if to_step.isascii() and to_step.isdigit() and len(to_step) < 4 else None
                approvals.decide(raw, actor, action, comment, to_step=step)
            elif action == "withdraw":
                approvals.withdraw(raw, actor, comment)
            elif action == "add_sign":
                approvals.add_sign(raw, actor, form.get("employee", ""), comment)
            elif action == "transfer":
                approvals.transfer(raw, actor, form.get("employee", ""), comment)
            elif action == "cc":
                approvals.copy_to(raw, actor, form.getlist("employee")[:50], comment)
            else:
                approvals.urge(raw, actor)
        except approvals.Refused as exc:
            return self._page(request_id, errors={action: str(exc.message)}, typed={action: comment}), 422
        flash(str(dict(HISTORY_ACTIONS)[action]), "success")
        return redirect(url_for("ApprovalsView.request_page", request_id=request_id))

    def _page(self, request_id, errors=None, typed=None):
        actor = scope.actor()
        raw = approvals.load(request_id)
        if raw is None or not approvals.may_view(raw, actor):
            abort(404)
        request_doc = ApprovalRequest._from_son(raw)
        try:
            on_behalf = approvals.authority(raw, actor)
            can_decide = True
        except approvals.Refused:
            on_behalf, can_decide = None, False
        pending = raw["state"] == "pending"
        is_requester = actor.employee_id is not None and actor.employee_id == raw["requester"]
        endpoint = document_endpoint(raw["document"])
        handler = approvals.HANDLERS.get(raw["document"])
        document = handler.document.objects(pk=raw["doc_id"]).first() if handler else None
        return self.render_template(
            "portal/approvals/request.html", req=request_doc, raw=raw, errors=errors or {}, typed=typed or {},
            can_decide=can_decide, on_behalf=on_behalf, is_requester=is_requester and pending,
            may_withdraw=is_requester and pending and not approvals.decided_this_round(raw),
            may_cc=approvals.may_copy(raw, actor),
            eligible=approvals.eligible_people(raw) if can_decide else [],
            people=_people() if pending or is_requester else [],
            document_url=url_for(endpoint, pk=raw["doc_id"]) if endpoint else None,
            summary=_summary(document) if document is not None else [],
            document_label=document_label, step_title=_step_title, notes=NOTES, step_states=STEP_STATES,
            role_label=lambda role: choice_label(APPROVER_ROLES, role),
            history_actions=HISTORY_ACTIONS, request_states=REQUEST_STATES, to_local=settings.to_local, now=_now())


def _summary(document) -> list[tuple[str, object]]:
    """(label, formatted value) of the fields an approver reads, in the reader's language."""
    out = []
    for name in document.summary_fields:
        field = document._fields[name]
        value = getattr(document, name, None)
        out.append((str(field.verbose_name or name), formatter_for(field)(value)))
    return out


def _people() -> list[tuple[ObjectId, str]]:
    rows = Employee._get_collection().find({"status": {"$ne": "left"}}, {"name": 1, "employee_no": 1}).limit(1000)
    return [(r["_id"], f"{r['name']} ({r.get('employee_no', '')})") for r in rows]


def _now():
    from models.common import utcnow

    return utcnow()


# ---- notifications ----------------------------------------------------------------------------
class NotificationsView(BaseView):
    """The bell: my notifications in my language; opening one marks it read."""

    route_base = "/notifications"
    default_view = "index"
    class_permission_name = "NotificationsView"
    method_permission_name = {"index": "index", "open_one": "index", "read_all": "index"}

    @expose("/")
    @has_access
    def index(self):
        rows = notify.recent(scope.current_employee_id())
        return self.render_template("portal/approvals/notifications.html", rows=rows, text=notify.text,
                                    to_local=settings.to_local)

    @expose("/open/<notification_id>")
    @has_access
    def open_one(self, notification_id):
        from models.approvals import Notification

        try:
            oid = ObjectId(notification_id)
        except Exception:
            abort(404)
        me = scope.current_employee_id()
        row = Notification._get_collection().find_one({"_id": oid, "recipient": me}, {"link": 1})
        if row is None:
            abort(404)
        notify.mark_read(me, [oid])
        link = row.get("link") or ""
        return redirect(link if link.startswith("/") and not link.startswith("//") else url_for(".index"))

    @expose("/read", methods=["POST"])
    @has_access
    def read_all(self):
        notify.mark_read(scope.current_employee_id())
        return redirect(url_for(".index"))


# ---- data: requests (for auditors), routes, delegations, settings -------------------------------
class ApprovalRequestView(PortalModelView):
    """Every request, for Auditors and Admin; each opens its request page."""

    datamodel = PortalMongoInterface(ApprovalRequest)
    class_permission_name = "ApprovalRequest"
    exclude_route_methods = {"download", "add", "edit", "delete", "action", "action_post"}
    list_title = show_title = _l("All approval requests")
    list_columns = ["title", "document", "requester_name", "state", "entered_at", "due_at", "closed_at"]
    search_columns = ["title", "document", "requester_name", "state", "route_code"]
    order_columns = ["entered_at", "due_at", "closed_at", "state"]
    base_order = ("updated_at", "desc")
    label_columns = {"document": _l("Document")}
    # the API's record (the page itself is the request page): with its route and history, which `portal load` checks
    show_columns = ["title", "document", "amount", "route_code", "requester_name", "submitted_by", "state", "round",
                    "entered_at", "due_at", "closed_at", "steps", "history"]
    formatters_columns = {"document": document_label}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        if self.get_item(pk) is None:
            abort(404)
        return redirect(url_for("ApprovalsView.request_page", request_id=pk))


class ApprovalRouteView(PortalModelView):
    """Routes as data: steps, approvers, amount conditions and time limits, edited by Admin (DOMAIN 4)."""

    datamodel = PortalMongoInterface(ApprovalRoute)
    class_permission_name = "ApprovalRoute"
    regulation_clauses = _ROUTE_CLAUSES
    list_title = show_title = _l("Approval routes")
    add_title = _l("Add approval route")
    edit_title = _l("Edit approval route")
    list_columns = ["code", "name", "document", "active"]
    search_columns = ["code", "name", "document", "active"]
    order_columns = ["code", "document"]
    base_order = ("document", "asc")
    add_columns = edit_columns = ["code", "name", "document", "active", "clauses", "steps"]
    show_fieldsets = [
        (_l("Route"), {"fields": ["code", "name", "document", "active", "clauses", "steps"]}),
        (_l("Record"), {"fields": _STAMPS, "expanded": False}),
    ]


class ApprovalDelegationView(ScopedModelView):
    """A manager names a deputy for a period; the deputy decides in their name meanwhile (DSC 2(2)2)."""

    datamodel = PortalMongoInterface(ApprovalDelegation)
    class_permission_name = "ApprovalDelegation"
    regulation_clauses = ("DSC 2(2)2",)
    scope_unit_field = None
    scope_owner_field = "delegator"
    scope_all_roles = frozenset({"Admin", "Auditor", "HR"})
    list_title = show_title = _l("Delegations")
    add_title = _l("Add delegation")
    edit_title = _l("Edit delegation")
    list_columns = ["delegator", "deputy", "start", "end", "active"]
    search_columns = ["start", "end", "active"]
    order_columns = ["start", "end"]
    base_order = ("start", "desc")
    add_columns = edit_columns = ["delegator", "deputy", "start", "end", "reason", "active"]
    description_columns = {"delegator": _l("Filled in with you unless you are HR or Admin.")}

    def scope_query(self):
        from mongoengine import Q

        query = super().scope_query()
        me = scope.current_employee_id()
        return query if query is None or me is None else query | Q(deputy=me)

    def _own(self, item, stored_delegator=None):
        """A manager names deputies for themselves; HR and Admin for anyone, but nobody for their own gain."""
        roles = scope.role_names()
        me = scope.current_employee_id()
        if "Admin" in roles:
            return
        if me is None:
            raise scope.ScopeDenied(gettext("Your login is not linked to an employee record."))
        if item.deputy is not None and item.deputy.pk == me and (item.delegator is None or item.delegator.pk != me):
            raise field_error("deputy", _l("You cannot make yourself someone else's deputy; ask HR or an Admin."))
        if roles & self.scope_all_roles:
            return
        for delegator in (item.delegator.pk if item.delegator is not None else None, stored_delegator):
            if delegator is not None and delegator != me:
                raise field_error("delegator", _l("You can only name a deputy for yourself."))
        if item.delegator is None:
            raise field_error("delegator", _l("You can only name a deputy for yourself."))

    def _stored_delegator(self, item):
        row = ApprovalDelegation._get_collection().find_one({"_id": item.pk}, {"delegator": 1}) or {}
        return row.get("delegator")

    def pre_add(self, item):
        if item.delegator is None and not scope.role_names() & self.scope_all_roles:
            item.delegator = Employee.objects(pk=scope.current_employee_id()).first()
        self._own(item)

    def pre_update(self, item):
        self._own(item, self._stored_delegator(item))

    def pre_delete(self, item):
        stored = self._stored_delegator(item)
        if not scope.role_names() & {"Admin", "HR"} and stored != scope.current_employee_id():
            raise ValidationError(gettext("Only the manager who named the deputy can remove it."))
    def post_add(self, item):
        _DELEGATORS.clear()

    post_update = post_delete = post_add


class SettingView(PortalModelView):
    """Thresholds and time limits the regulations leave to the company; Admin changes them here."""

    datamodel = PortalMongoInterface(Setting)
    class_permission_name = "Setting"
    regulation_clauses = ("BRD 8(2)2",)
    list_title = show_title = _l("Settings")
    edit_title = _l("Edit setting")
    exclude_route_methods = {"download", "add", "delete", "action", "action_post"}
    list_columns = ["key", "value", "kind", "clauses"]
    search_columns = ["key"]
    order_columns = ["key"]
    base_order = ("key", "asc")
    edit_columns = ["value"]
    show_columns = ["key", "value", "kind", "clauses", "updated_at", "updated_by"]
    formatters_columns = {"key": lambda key: f"{settings.SETTING_LABELS.get(key, key)} ({key})"}


_DELEGATORS: dict = {}  # (employee, day) -> (read at, delegators): the navbar's view, refreshed every minute
DELEGATORS_TTL = 60


def _navbar_delegators(employee_id) -> list:
    key = (employee_id, settings.local_today())
    now = time.monotonic()
    hit = _DELEGATORS.get(key)
    if hit is None or now - hit[0] > DELEGATORS_TTL:
        if len(_DELEGATORS) > 10000:
            _DELEGATORS.clear()
        hit = _DELEGATORS[key] = (now, approvals.delegators_for(employee_id, key[1]))
    return hit[1]


def nav_counts() -> dict:
    """Approvals waiting for the signed-in user and their unread notifications (navbar): two counts a page.
    Who the user stands in for is remembered for a minute; deciding always reads it afresh."""
    from portal.security import request_cache

    cache = request_cache()
    if "nav" not in cache:
        user = getattr(g, "user", None)
        counts = {"inbox": 0, "unread": 0, "show": False}
        if user is not None and getattr(user, "is_authenticated", False):
            actor = scope.actor()
            if actor.employee_id is not None:
                counts = {"inbox": approvals.inbox_count(actor, _navbar_delegators(actor.employee_id)),
                          "unread": notify.unread_count(actor.employee_id), "show": True}
        cache["nav"] = counts
    return cache["nav"]
