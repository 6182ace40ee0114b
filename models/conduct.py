"""Conduct and discipline (DOMAIN 3.8; FSS 4, MIC 違規處理): leave requests."""

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from mongoengine import DENY, DateField, DecimalField, ReferenceField, StringField

from models.approvals import ApprovableDocument, approvable
from models.common import choice_label, choices, field_error
from models.org import Employee, owned_by_unit

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
