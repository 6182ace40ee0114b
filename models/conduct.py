"""Conduct and discipline (DOMAIN 3.8; FSS 4, MIC 違規處理): leave, attendance, violations and gift declarations."""

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from mongoengine import (
    DENY,
    NULLIFY,
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    EmbeddedDocumentField,
    ListField,
    ReferenceField,
    StringField,
)

from models.agents import AgentTier
from models.approvals import ApprovableDocument, approvable
from models.common import (
    MoneyField,
    Numbered,
    OwnedDocument,
    PortalEmbedded,
    choice_label,
    choices,
    field_error,
)
from models.files import Attachment
from models.org import Employee, Position, owned_by_unit
from models.settings import clock_text

LEAVE_KINDS = choices(
    ("annual", _l("Annual leave")), ("sick", _l("Sick leave")), ("personal", _l("Personal leave")),
    ("marriage", _l("Marriage leave")), ("maternity", _l("Maternity or paternity leave")),
    ("bereavement", _l("Bereavement leave")), ("compensatory", _l("Time off in lieu")), ("other", _l("Other")),
)


@owned_by_unit
@approvable(_l("Leave request"))
class LeaveRequest(ApprovableDocument):
    """Leave, asked for before it starts and approved by the department head (FSS 4(1)1)."""

    meta = {"collection": "leave_requests", "indexes": ["employee", "owner_unit", "status", "start"],
            "ordering": ["-start"]}
    requester_field = "employee"
    summary_fields = ("employee", "kind", "start", "end", "days", "reason", "handover")

    employee = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Employee"))
    kind = StringField(required=True, choices=LEAVE_KINDS, default="annual", verbose_name=_l("Kind"))
    start = DateField(required=True, verbose_name=_l("First day"))
    end = DateField(required=True, verbose_name=_l("Last day"))
    days = DecimalField(precision=1, min_value=Decimal("0.5"), verbose_name=_l("Working days"))
    reason = StringField(required=True, max_length=1000, verbose_name=_l("Reason"))
    handover = StringField(max_length=1000, verbose_name=_l("Work handed over to"))

    def __str__(self) -> str:
        name = self.employee.name if self.employee is not None and hasattr(self.employee, "name") else ""
        span = f"{self.start:%Y-%m-%d}–{self.end:%Y-%m-%d}" if self.start and self.end else ""
        return f"{name} {choice_label(LEAVE_KINDS, self.kind)} {span}".strip()

    def clean(self) -> None:
        if self.employee is not None:
            self.owner_unit = self.employee.owner_unit
        if self.start and self.end:
            if self.end < self.start:
                raise field_error("end", _l("The last day cannot be before the first day."))
            calendar_days = (self.end - self.start).days + 1
            if self.days is None:
                weekdays = sum(1 for n in range(calendar_days) if (self.start + dt.timedelta(days=n)).weekday() < 5)
                self.days = Decimal(weekdays or calendar_days)
            elif self.days > calendar_days:
                raise field_error("days", _l("More working days than calendar days in the period."))

    def check_submittable(self, today) -> None:
        if self.start is not None and self.start < today:
            raise field_error("start", _l("Leave must be asked for before it starts (FSS 4(1)1): the first day "
                                          "is in the past."))


# ---- attendance (FSS 4(1)1) ---------------------------------------------------------------------------------
ATTENDANCE_STATUSES = choices(
    ("normal", _l("Normal")), ("late", _l("Late")), ("early_leave", _l("Left early")), ("absent", _l("Absent")),
    ("leave", _l("On approved leave")),
)


@owned_by_unit
class AttendanceRecord(OwnedDocument):
    """One employee's working day: check-in and check-out; the status is derived from the working day's settings
    and approved leave (FSS 4(1)1), never typed."""

    meta = {"collection": "attendance_records",
            "indexes": [{"fields": ["employee", "date"], "unique": True}, "owner_unit", "date", "status"],
            "ordering": ["-date"]}

    employee = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Employee"))
    date = DateField(required=True, verbose_name=_l("Date"))
    check_in = StringField(max_length=8, verbose_name=_l("Check-in"))
    check_out = StringField(max_length=8, verbose_name=_l("Check-out"))
    status = StringField(required=True, choices=ATTENDANCE_STATUSES, default="absent", verbose_name=_l("Status"))
    late = BooleanField(default=False, verbose_name=_l("Late"))
    left_early = BooleanField(default=False, verbose_name=_l("Left early"))
    leave = ReferenceField(LeaveRequest, reverse_delete_rule=NULLIFY, verbose_name=_l("Approved leave"))
    note = StringField(max_length=500, verbose_name=_l("Note"))

    def __str__(self) -> str:
        name = self.employee.name if self.employee is not None and hasattr(self.employee, "name") else ""
        return f"{name} {self.date:%Y-%m-%d}".strip() if self.date else name

    def clean(self) -> None:
        from portal.conduct import derive_attendance  # the rule reads the working day's settings and approved leave
        from portal.settings import local_today

        if self.employee is not None:
            self.owner_unit = self.employee.owner_unit
        self.check_in, self.check_out = clock_text(self.check_in, "check_in"), clock_text(self.check_out, "check_out")
        if self.check_in and self.check_out and self.check_out < self.check_in:
            raise field_error("check_out", _l("The check-out cannot be before the check-in."))
        if self.date is not None and self.date > local_today():
            raise field_error("date", _l("Attendance is recorded for today or a day that has passed."))
        if self.employee is not None and self.date is not None and type(self).objects(
                employee=self.employee, date=self.date, pk__ne=self.pk).only("id").first() is not None:
            raise field_error("date", _l("This employee already has an attendance record for this day."))
        derive_attendance(self)


# ---- violations (MIC 違規處理, FSS 4) ---------------------------------------------------------------------------
VIOLATION_CATEGORIES = choices(
    ("law", _l("Breach of law, company rules or industry norms")),
    ("harm", _l("Harm to the brand, business reputation or customers")),
    ("duty", _l("Neglect of duty or breach of teamwork")),
)
MEASURES = choices(
    ("warning", _l("Warning with a correction deadline")), ("fine", _l("Fine")),
    ("demotion", _l("Demotion or agent tier downgrade")), ("dismissal", _l("Dismissal")),
)
VIOLATION_STATUSES = choices(
    ("recorded", _l("Recorded")), ("decided", _l("Decided")), ("acknowledged", _l("Acknowledged")),
    ("correction_reported", _l("Correction reported")), ("corrected", _l("Correction confirmed")),
)
MEASURE_FIELDS = {"warning": "correction_deadline", "fine": "fine_amount", "demotion": ("new_position", "new_tier")}


class Evidence(PortalEmbedded):
    """One piece of evidence: the file and what it shows."""

    file = ReferenceField(Attachment, verbose_name=_l("File"))
    description = StringField(max_length=300, verbose_name=_l("What it shows"))


@owned_by_unit
class Violation(Numbered, OwnedDocument):
    """A breach of the rules by an employee or agent and the measure taken (MIC 違規處理, FSS 4). Seen only by HR,
    the heads above the person, Auditor and the person themselves."""

    meta = {"collection": "violations",
            "indexes": ["person", "owner_unit", "status", "occurred_on", "category", "measure",
                        {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-occurred_on"]}
    number_prefix = "WJ"

    number = StringField(max_length=32, verbose_name=_l("Number"))
    person = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Person"))
    occurred_on = DateField(required=True, verbose_name=_l("Date"))
    category = StringField(required=True, choices=VIOLATION_CATEGORIES, verbose_name=_l("Category"))
    description = StringField(required=True, max_length=4000, verbose_name=_l("What happened"))
    evidence = ListField(EmbeddedDocumentField(Evidence), max_length=20, verbose_name=_l("Evidence"))
    measure = StringField(required=True, choices=MEASURES, verbose_name=_l("Measure"))
    correction_deadline = DateField(verbose_name=_l("Correct by"))
    fine_amount = MoneyField(verbose_name=_l("Fine (CNY)"))
    new_position = ReferenceField(Position, reverse_delete_rule=DENY, verbose_name=_l("New position"))
    new_tier = ReferenceField(AgentTier, reverse_delete_rule=DENY, verbose_name=_l("New agent tier"))
    previous_position = ReferenceField(Position, reverse_delete_rule=NULLIFY, verbose_name=_l("Previous position"))
    previous_tier = ReferenceField(AgentTier, reverse_delete_rule=NULLIFY, verbose_name=_l("Previous agent tier"))
    status = StringField(required=True, choices=VIOLATION_STATUSES, default="recorded", verbose_name=_l("Status"))
    decided_by = StringField(max_length=64, verbose_name=_l("Decided by"))
    decided_at = DateTimeField(verbose_name=_l("Decided at"))
    acknowledged_at = DateTimeField(verbose_name=_l("Acknowledged at"))
    correction_report = StringField(max_length=2000, verbose_name=_l("Correction made"))
    correction_reported_at = DateTimeField(verbose_name=_l("Correction reported at"))
    confirmed_by = StringField(max_length=64, verbose_name=_l("Correction confirmed by"))
    confirmed_at = DateTimeField(verbose_name=_l("Correction confirmed at"))
    confirmation_note = StringField(max_length=1000, verbose_name=_l("Confirmation note"))
    correction_reminded = BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.number or ''} {choice_label(VIOLATION_CATEGORIES, self.category)}".strip()

    @property
    def is_agent(self) -> bool:
        return self.person is not None and getattr(self.person, "staff_kind", None) == "agent"

    def clean(self) -> None:
        if self.person is not None:
            self.owner_unit = self.person.owner_unit
        if self.status != "recorded":
            return  # the measure was fixed when it was decided
        for measure, fields in MEASURE_FIELDS.items():  # only the chosen measure's own field is kept
            if measure != self.measure:
                for name in (fields,) if isinstance(fields, str) else fields:
                    setattr(self, name, None)
        if self.measure == "warning":
            self._check_deadline()
        elif self.measure == "fine" and not (self.fine_amount and self.fine_amount > 0):
            raise field_error("fine_amount", _l("A fine needs its amount, more than zero (MIC 違規處理措施/2)."))
        elif self.measure == "demotion":
            self._check_demotion()

    def _check_deadline(self) -> None:
        from portal.settings import local_today

        if self.correction_deadline is None:
            raise field_error("correction_deadline", _l("A warning sets the deadline to correct by "
                                                        "(MIC 違規處理措施/1)."))
        if self.correction_deadline <= local_today():
            raise field_error("correction_deadline", _l("The correction deadline must be in the future."))

    def _check_demotion(self) -> None:
        person = self.person
        if self.is_agent:
            self.new_position = None
            current = getattr(person, "agent_tier", None)
            if self.new_tier is None:
                raise field_error("new_tier", _l("A downgrade names the agent's new, lower tier."))
            if current is not None and self.new_tier.level <= current.level:
                raise field_error("new_tier", _l("Choose a tier below the agent's current tier (%(tier)s).",
                                                 tier=current.name))
            return
        self.new_tier = None
        if self.new_position is None:
            raise field_error("new_position", _l("A demotion names the employee's new position."))
        if person is not None and person.position is not None and self.new_position.pk == person.position.pk:
            raise field_error("new_position", _l("Choose a position other than the employee's current one."))


# ---- gifts (FSS 4(4)1) ------------------------------------------------------------------------------------------
GIFT_HANDLING = choices(
    ("refused", _l("Refused")), ("returned", _l("Returned to the giver")),
    ("handed_in", _l("Handed in to the company")),
)


@owned_by_unit
class GiftDeclaration(OwnedDocument):
    """A gift, kickback or favour offered by a customer or partner, and what was done with it: refused, returned or
    handed in, never kept (FSS 4(4)1)."""

    meta = {"collection": "gift_declarations", "indexes": ["employee", "owner_unit", "offered_on", "handling"],
            "ordering": ["-offered_on"]}

    employee = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Employee"))
    giver = StringField(required=True, max_length=120, verbose_name=_l("Offered by"))
    item = StringField(required=True, max_length=200, verbose_name=_l("Gift"))
    value = MoneyField(required=True, verbose_name=_l("Estimated value (CNY)"))
    offered_on = DateField(required=True, verbose_name=_l("Date"))
    handling = StringField(required=True, choices=GIFT_HANDLING, verbose_name=_l("Handling"))
    handed_to = StringField(max_length=120, verbose_name=_l("Handed to"))
    note = StringField(max_length=1000, verbose_name=_l("Note"))

    def __str__(self) -> str:
        return f"{self.item or ''} ({self.giver or ''})"

    def clean(self) -> None:
        from portal.settings import local_today

        if self.employee is not None:
            self.owner_unit = self.employee.owner_unit
        if self.offered_on is not None and self.offered_on > local_today():
            raise field_error("offered_on", _l("A gift is declared once it has been offered: the date is in the "
                                               "future."))
        if self.handling == "handed_in" and not (self.handed_to or "").strip():
            raise field_error("handed_to", _l("Say to whom the gift was handed in."))
