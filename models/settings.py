"""Settings an Admin changes in the portal without a deployment (thresholds, time limits, windows)."""

from flask_babel import lazy_gettext as _l
from mongoengine import StringField

from models.common import PortalDocument, field_error, money

SETTING_KINDS = (("money", _l("Amount (CNY)")), ("int", _l("Whole number")))
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
    "after_sales_days": ("int", "7", "MIC 售后服務管理/售后問題處理流程/3",
                         _l("Days within which an after-sales problem gets its outcome")),
    "slow_moving_days": ("int", "90", "MIC 產品管理/產品庫存管理/3",
                         _l("Days without a shipment after which stock is slow-moving")),
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
        try:
            parsed = money(self.value) if self.kind == "money" else int(str(self.value).strip())
        except ValueError:
            raise field_error("value", _l("Enter a number.")) from None
        if parsed < 0:
            raise field_error("value", _l("The value cannot be negative."))
        self.value = str(parsed)

    def typed(self):
        return money(self.value) if self.kind == "money" else int(self.value)
