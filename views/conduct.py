"""Conduct screens (DOMAIN 3.8): leave requests, asked for before they start (FSS 4(1)1)."""

from flask_babel import lazy_gettext as _l

from models.conduct import LeaveRequest
from portal.compat import PortalMongoInterface
from views.approvals import ApprovableView

_STAMPS = ["created_at", "created_by", "updated_at", "updated_by", "version"]


class LeaveRequestView(ApprovableView):
    """Leave requests: submitted before the first day, approved by the department head."""

    datamodel = PortalMongoInterface(LeaveRequest)
    class_permission_name = "LeaveRequest"
    scope_owner_field = "employee"
    scope_all_roles = frozenset({"Admin", "Auditor", "HR"})
    regulation_clauses = ("FSS 4(1)1", "FSS 4(1)2")
    list_title = show_title = _l("Leave requests")
    add_title = _l("New leave request")
    edit_title = _l("Edit leave request")
    list_columns = ["employee", "kind", "start", "end", "days", "status"]
    search_columns = ["employee", "kind", "start", "end", "status"]
    order_columns = ["start", "end", "kind", "status"]
    base_order = ("start", "desc")
    add_columns = edit_columns = ["employee", "kind", "start", "end", "days", "reason", "handover"]
    description_columns = {"employee": _l("Filled in with you unless you keep leave for your unit."),
                           "days": _l("Leave blank to count the weekdays of the period.")}
    show_fieldsets = [
        (_l("Leave"), {"fields": ["employee", "kind", "start", "end", "days", "reason", "handover"]}),
        (_l("Approval"), {"fields": ["status", "submitted_at", "decided_at"]}),
        (_l("Record"), {"fields": _STAMPS, "expanded": False}),
    ]
