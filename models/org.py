"""Organization (DSC 2, BRD 2, SOC 2, MIC 微商團隊組織架構): the org-unit tree, positions and employees."""

from flask_babel import lazy_gettext as _l
from mongoengine import (
    DENY,
    NULLIFY,
    PULL,
    BooleanField,
    DateField,
    EmailField,
    ListField,
    ObjectIdField,
    ReferenceField,
    StringField,
)

from models.common import OwnedDocument, PortalDocument, choices, field_error

UNIT_KINDS = choices(
    ("company", _l("Company")),
    ("branch", _l("Branch")),
    ("center", _l("Direct sales center")),
    ("department", _l("Department")),
    ("group", _l("Group")),
    ("agent_team", _l("Agent team")),
)
GENDERS = choices(("male", _l("Male")), ("female", _l("Female")))
EMPLOYEE_STATUSES = choices(("probation", _l("Probation")), ("active", _l("Active")), ("left", _l("Left")))
STAFF_KINDS = choices(
    ("market_expansion", _l("Market expansion")),
    ("sales", _l("Sales")),
    ("customer_service", _l("Customer service")),
    ("field_sales", _l("Field sales")),
    ("agent", _l("Agent")),
    ("operations", _l("Operations")),
    ("finance", _l("Finance")),
    ("hr", _l("HR")),
    ("other", _l("Other")),
)


class OrgUnit(PortalDocument):
    """A unit of the company tree; approval routing walks it ("head of my department", "head of my branch")."""

    meta = {"collection": "org_units", "indexes": ["ancestors", "parent", "head", "deputy_heads"],
            "ordering": ["code"]}

    code = StringField(required=True, unique=True, max_length=32, verbose_name=_l("Code"))
    name = StringField(required=True, max_length=120, verbose_name=_l("Name"))
    kind = StringField(required=True, choices=UNIT_KINDS, default="department", verbose_name=_l("Kind"))
    parent = ReferenceField("self", reverse_delete_rule=DENY, verbose_name=_l("Parent unit"))
    ancestors = ListField(ObjectIdField(), verbose_name=_l("Ancestors"))  # root first; kept by save()
    head = ReferenceField("Employee", verbose_name=_l("Head"))  # delete rules registered below Employee
    deputy_heads = ListField(ReferenceField("Employee"), verbose_name=_l("Deputy heads"))
    duties = StringField(max_length=4000, verbose_name=_l("Duties"))
    active = BooleanField(default=True, verbose_name=_l("Active"))

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        if self.parent is None:
            self.ancestors = []
            return
        parent_id = self.parent.pk
        if self.pk is not None and (parent_id == self.pk or self.pk in (self.parent.ancestors or [])):
            raise field_error("parent", _l("A unit cannot be placed under itself or one of its own sub-units."))
        self.ancestors = [*(self.parent.ancestors or []), parent_id]

    def save(self, *args, **kwargs):
        moved = not self._created and self.pk is not None and "parent" in self._get_changed_fields()
        result = super().save(*args, **kwargs)
        if moved:
            self._rebase_descendants()
        return result

    def _rebase_descendants(self) -> None:
        """After a move, give every unit below this one its new ancestor path."""
        collection = type(self)._get_collection()
        for child in collection.find({"ancestors": self.pk}, {"ancestors": 1}):
            tail = child["ancestors"][child["ancestors"].index(self.pk):]
            collection.update_one({"_id": child["_id"]}, {"$set": {"ancestors": [*self.ancestors, *tail]}})


def owned_by_unit(document_class):
    """Class decorator: an org unit that still owns records of this collection cannot be deleted."""
    OrgUnit.register_delete_rule(document_class, "owner_unit", DENY)
    return document_class


@owned_by_unit
class Position(OwnedDocument):
    """A post (崗位) in a unit, with its grade and duties."""

    meta = {"collection": "positions", "indexes": ["owner_unit"], "ordering": ["name"]}

    name = StringField(required=True, max_length=120, verbose_name=_l("Name"))
    grade = StringField(max_length=32, verbose_name=_l("Grade"))
    duties = ListField(StringField(max_length=500), verbose_name=_l("Duties"))

    def __str__(self) -> str:
        return self.name


@owned_by_unit
class Employee(OwnedDocument):
    """A staff member or agent; `owner_unit` is the employee's org unit and drives scope and routing."""

    meta = {"collection": "employees",
            "indexes": ["owner_unit", "manager", "status", "staff_kind", "name"],
            "ordering": ["employee_no"]}

    employee_no = StringField(required=True, unique=True, max_length=32, verbose_name=_l("Employee no."))
    name = StringField(required=True, max_length=64, verbose_name=_l("Name"))
    gender = StringField(choices=GENDERS, verbose_name=_l("Gender"))
    phone = StringField(max_length=32, regex=r"^[0-9+\- ()]*$", verbose_name=_l("Phone"))
    email = EmailField(max_length=254, verbose_name=_l("E-mail"))
    position = ReferenceField(Position, reverse_delete_rule=NULLIFY, verbose_name=_l("Position"))
    manager = ReferenceField("self", reverse_delete_rule=NULLIFY, verbose_name=_l("Manager"))
    hire_date = DateField(verbose_name=_l("Hire date"))
    status = StringField(required=True, choices=EMPLOYEE_STATUSES, default="active", verbose_name=_l("Status"))
    staff_kind = StringField(required=True, choices=STAFF_KINDS, default="other", verbose_name=_l("Staff kind"))
    agent_tier = ReferenceField("AgentTier", verbose_name=_l("Agent tier"))  # deleting a tier in use: models.agents
    region = StringField(max_length=64, verbose_name=_l("Region"))
    upline = ReferenceField("self", reverse_delete_rule=NULLIFY, verbose_name=_l("Upline"))
    remittance_reminded_for = StringField(max_length=7)  # the month an agent was last reminded to pay in

    def __str__(self) -> str:
        return f"{self.name} ({self.employee_no})"

    def clean(self) -> None:
        if self.owner_unit is None:
            raise field_error("owner_unit", _l("Every employee belongs to an org unit."))
        if self.manager is not None and self.pk is not None and self.manager.pk == self.pk:
            raise field_error("manager", _l("An employee cannot be their own manager."))
        if self.upline is not None and self.pk is not None and self.upline.pk == self.pk:
            raise field_error("upline", _l("An agent cannot be their own upline."))
        if self.staff_kind == "agent" and self.agent_tier is None:
            raise field_error("agent_tier", _l("An agent needs a tier: it sets their prices and profit share."))


Employee.register_delete_rule(OrgUnit, "head", NULLIFY)
Employee.register_delete_rule(OrgUnit, "deputy_heads", PULL)
