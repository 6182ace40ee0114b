"""Organization screens (DOMAIN 2): the org-unit tree, positions and employees."""

from flask_babel import lazy_gettext as _l

from models.org import Employee, OrgUnit, Position
from portal import scope
from portal.compat import PortalMongoInterface, register_lookup
from portal.modelview import STAMPS, PortalModelView, ScopedModelView

_TREE_CLAUSES = ("DSC 2(1)", "DSC 2(2)1", "BRD 2(1)", "BRD 2(2)1", "BRD 2(2)2", "SOC 2.1",
                 "MIC 微商團隊組織架構/團隊負責人/1")
register_lookup("employee", Employee, "employee_no", "name")  # thousands of staff: search, never a full select


def my_employee():
    """The current user's Employee record, or None."""
    employee_id = scope.current_employee_id()
    return Employee.objects(pk=employee_id).first() if employee_id else None


class OrgUnitView(PortalModelView):
    """The company tree: HR keeps it, everyone reads it; a unit cannot be moved under itself."""

    datamodel = PortalMongoInterface(OrgUnit)
    class_permission_name = "OrgUnit"
    regulation_clauses = _TREE_CLAUSES
    list_title = show_title = _l("Org units")
    add_title = _l("Add org unit")
    edit_title = _l("Edit org unit")
    list_columns = ["code", "name", "kind", "parent", "head", "active"]
    search_columns = ["code", "name", "kind", "parent", "active"]
    order_columns = ["code", "name", "kind"]
    base_order = ("code", "asc")
    add_columns = edit_columns = ["code", "name", "kind", "parent", "head", "deputy_heads", "duties", "active"]
    show_fieldsets = [
        (_l("Unit"), {"fields": ["code", "name", "kind", "parent", "head", "deputy_heads", "duties", "active"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]


class PositionView(PortalModelView):
    """Posts (崗位) with grade and duties, kept by HR."""

    datamodel = PortalMongoInterface(Position)
    class_permission_name = "Position"
    regulation_clauses = ("DSC 2(1)", "DSC 4(3)1")
    list_title = show_title = _l("Positions")
    add_title = _l("Add position")
    edit_title = _l("Edit position")
    list_columns = ["name", "owner_unit", "grade"]
    search_columns = ["name", "owner_unit", "grade", "duties"]
    order_columns = ["name", "grade"]
    base_order = ("name", "asc")
    add_columns = edit_columns = ["name", "owner_unit", "grade", "duties"]
    show_fieldsets = [
        (_l("Position"), {"fields": ["name", "owner_unit", "grade", "duties"]}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]


class EmployeeView(ScopedModelView):
    """Staff records: HR keeps them; Clerks and DeptHeads see their units; everyone sees their own."""

    datamodel = PortalMongoInterface(Employee)
    class_permission_name = "Employee"
    export_audited = True  # personal data of staff and agents
    scope_owner_field = "id"
    scope_all_roles = frozenset({"Admin", "Auditor", "HR"})
    regulation_clauses = ("DSC 2(1)", "FSS 1(2)", "MIC 總則/適用范圍")
    list_title = show_title = _l("Employees")
    add_title = _l("Add employee")
    edit_title = _l("Edit employee")
    list_columns = ["employee_no", "name", "owner_unit", "position", "manager", "staff_kind", "status"]
    search_columns = ["employee_no", "name", "owner_unit", "staff_kind", "status", "hire_date"]
    order_columns = ["employee_no", "name", "hire_date", "staff_kind", "status"]
    base_order = ("employee_no", "asc")
    add_columns = edit_columns = ["employee_no", "name", "gender", "phone", "email", "owner_unit", "position",
                                  "manager", "hire_date", "status", "staff_kind", "agent_tier", "region", "upline"]
    label_columns = {"owner_unit": _l("Org unit")}
    show_fieldsets = [
        (_l("Employee"), {"fields": ["employee_no", "name", "gender", "phone", "email", "hire_date", "status"]}),
        (_l("Place in the organization"), {"fields": ["owner_unit", "position", "manager", "staff_kind"]}),
        (_l("Agent network"), {"fields": ["agent_tier", "region", "upline"], "expanded": False}),
        (_l("Record"), {"fields": STAMPS, "expanded": False}),
    ]
    show_template = "portal/record_show.html"

    def show_context(self, item) -> dict:
        from views.appraisal import employee_appraisals_link
        from views.training import employee_training_link  # imported here: views.training imports this module

        return {"links": [employee_training_link(item.pk), employee_appraisals_link(item.pk)]}
