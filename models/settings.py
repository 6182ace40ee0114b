"""Settings an Admin changes in the portal without a deployment (thresholds, time limits, windows)."""

import datetime as dt

from flask_babel import lazy_gettext as _l
from mongoengine import StringField

from models.common import PortalDocument, field_error, money

SETTING_KINDS = (("money", _l("Amount (CNY)")), ("int", _l("Whole number")),
                 ("time", _l("Time of day (24-hour clock)")))
# key -> (kind, default, clauses, what it means)
DEFAULTS: dict[str, tuple[str, str, str, object]] = {
    "major_expense_threshold": ("money", "5000.00", "BRD 8(2)2",
                                _l("Major expense: claims above this amount also need the branch leader")),
    "approval_escalation_hours": ("int", "24", "DSC 2(2)2",
                                  _l("Hours past a step's time limit before its approver's own head is told")),
    "complaint_hours_critical": ("int", "4", "BRD 5(1)3", _l("Hours to answer a critical complaint")),
    "complaint_hours_high": ("int", "24", "BRD 5(1)3", _l("Hours to answer a complaint of high severity")),
    "complaint_hours_normal": ("int", "72", "BRD 5(1)3", _l("Hours to answer a complaint of normal severity")),
    "customer_verify_days": ("int", "180", "BRD 5(2)3",
                             _l("Days after which a customer's owner is reminded to re-check the file")),
    "major_contract_threshold": ("money", "500000.00", "DSC 6(4)3",
                                 _l("Major contract: contracts above this amount also get a compliance review")),
    "contract_renewal_days": ("int", "30", "SOC 3.5", _l("Days before a contract ends when it is up for renewal")),
    "weak_credit_prepayment_percent": ("int", "30", "DSC 6(2)3",
                                       _l("Weak credit (rating B or C): the prepayment, in percent, that stands in "
                                          "for a guarantee")),
    "after_sales_days": ("int", "7", "MIC 售后服務管理/售后問題處理流程/3",
                         _l("Days within which an after-sales problem gets its outcome")),
    "receivable_escalation_days": ("int", "30", "FSS 3(7)3",
                                   _l("Days past due after which an unpaid receivable is escalated to the superior")),
    "slow_moving_days": ("int", "90", "MIC 產品管理/產品庫存管理/3",
                         _l("Days without a shipment after which stock is slow-moving")),
    "work_start": ("time", "09:00", "FSS 4(1)1", _l("Start of the working day: a later check-in is late")),
    "work_end": ("time", "18:00", "FSS 4(1)1", _l("End of the working day: an earlier check-out is leaving early")),
    "attendance_grace_minutes": ("int", "5", "FSS 4(1)1",
                                 _l("Minutes after the start of the working day that a check-in is still on time")),
    "agreement_expiry_days": ("int", "60", "BRD 9(2)1",
                              _l("Days before a confidentiality agreement expires when HR and the employee are told")),
    "ip_expiry_days": ("int", "90", "SOC 8.2",
                       _l("Days before an intellectual property right expires when its keepers are told")),
    "onboarding_reminder_days": ("int", "7", "SOC 4.1",
                                 _l("Days after the hire date when HR is told an onboarding checklist is incomplete")),
    "training_pass_mark": ("int", "60", "FSS 5(4)3",
                           _l("Pass mark of training assessments (out of 100) unless a session sets its own")),
    # performance appraisal (DOMAIN 6): bonus coefficient x 100 per grade (FSS 6(4)1), calibration targets in percent
    "appraisal_bonus_percent_a": ("int", "150", "FSS 6(4)1", _l("Bonus coefficient of grade A, in percent")),
    "appraisal_bonus_percent_b": ("int", "120", "FSS 6(4)1", _l("Bonus coefficient of grade B, in percent")),
    "appraisal_bonus_percent_c": ("int", "100", "FSS 6(4)1", _l("Bonus coefficient of grade C, in percent")),
    "appraisal_bonus_percent_d": ("int", "80", "FSS 6(4)1", _l("Bonus coefficient of grade D, in percent")),
    "appraisal_bonus_percent_e": ("int", "50", "FSS 6(4)1", _l("Bonus coefficient of grade E, in percent")),
    "appraisal_target_share_a": ("int", "10", "BRD 6(1)1", _l("Calibration: target share of grade A, in percent")),
    "appraisal_target_share_b": ("int", "20", "BRD 6(1)1", _l("Calibration: target share of grade B, in percent")),
    "appraisal_target_share_c": ("int", "40", "BRD 6(1)1", _l("Calibration: target share of grade C, in percent")),
    "appraisal_target_share_d": ("int", "20", "BRD 6(1)1", _l("Calibration: target share of grade D, in percent")),
    "appraisal_target_share_e": ("int", "10", "BRD 6(1)1", _l("Calibration: target share of grade E, in percent")),
    "appraisal_360_min_answers": ("int", "3", "FSS 6(3)3", _l("360-degree answers needed before the appraisee sees "
                                                               "the averages (never fewer than 2)")),
}
MONEY_SETTINGS = tuple((key, label) for key, (kind, _v, _c, label) in DEFAULTS.items() if kind == "money")


class Setting(PortalDocument):
    """One named value; the list of names, kinds and defaults lives in `portal.settings.DEFAULTS`."""

    meta = {"collection": "settings", "ordering": ["key"]}

    key = StringField(required=True, unique=True, max_length=64, verbose_name=_l("Setting"))
    kind = StringField(required=True, choices=SETTING_KINDS, default="money", verbose_name=_l("Kind"))
    value = StringField(required=True, max_length=64, verbose_name=_l("Value"))
    clauses = StringField(max_length=200, verbose_name=_l("Clauses"))

    def __str__(self) -> str:
        return self.key

    def clean(self) -> None:
        if self.kind == "time":
            self.value = clock_text(self.value, "value")
            return
        try:
            parsed = money(self.value) if self.kind == "money" else int(str(self.value).strip())
        except ValueError:
            raise field_error("value", _l("Enter a number.")) from None
        if parsed < 0:
            raise field_error("value", _l("The value cannot be negative."))
        self.value = str(parsed)

    def typed(self):
        if self.kind == "time":
            return dt.time.fromisoformat(self.value)
        return money(self.value) if self.kind == "money" else int(self.value)


def clock_text(value, field: str) -> str | None:
    """A time of day typed as 9:05 or 09:05, as "09:05"; None when blank; otherwise an error next to `field`."""
    text = str(value or "").strip()
    if not text:
        return None
    hours, _, minutes = text.partition(":")
    if not (hours.isascii() and hours.isdigit() and minutes.isascii() and minutes.isdigit() and len(hours) <= 2
            and len(minutes) == 2 and int(hours) < 24 and int(minutes) < 60):
        raise field_error(field, _l("Write the time as 09:05 (24-hour clock)."))
    return f"{int(hours):02d}:{int(minutes):02d}"
