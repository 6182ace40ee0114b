"""Agent network (DOMAIN 3.5; MIC 微商團隊組織架構, 財務管理): agent tiers, remittances, profit distributions.

An agent is an Employee of staff kind `agent` with a tier, a region and an upline (models.org).
"""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from mongoengine import (
    DENY,
    NULLIFY,
    DateField,
    DateTimeField,
    DecimalField,
    EmbeddedDocumentField,
    IntField,
    ListField,
    ReferenceField,
    StringField,
)

from models.approvals import ApprovableDocument, approvable
from models.common import (
    PERIOD_FORMATS,
    PERIOD_KINDS,
    MoneyField,
    Numbered,
    OwnedDocument,
    PortalDocument,
    PortalEmbedded,
    choices,
    field_error,
    period_bounds,
)
from models.org import Employee, owned_by_unit

REMITTANCE_STATES = choices(("recorded", _l("Recorded")), ("verified", _l("Verified by Finance")),
                            ("rejected", _l("Rejected by Finance")))


class AgentTier(PortalDocument):
    """A level of the agent network: its rights, its price list and its share of profit (MIC 各級代理/1,
    利潤分配/1)."""

    meta = {"collection": "agent_tiers", "ordering": ["level"]}

    name = StringField(required=True, unique=True, max_length=64, verbose_name=_l("Name"))
    level = IntField(required=True, unique=True, min_value=1, max_value=20, verbose_name=_l("Level"))
    price_list = StringField(max_length=200, verbose_name=_l("Price list"))
    profit_share = DecimalField(required=True, min_value=Decimal("0"), max_value=Decimal("1"), precision=4,
                                verbose_name=_l("Profit share ratio"))
    rights = StringField(max_length=2000, verbose_name=_l("Rights and obligations"))

    def __str__(self) -> str:
        return self.name or ""

    @property
    def share_percent(self) -> str:
        return "" if self.profit_share is None else f"{Decimal(self.profit_share) * 100:.2f} %"


AgentTier.register_delete_rule(Employee, "agent_tier", DENY)


@owned_by_unit
class Remittance(Numbered, OwnedDocument):
    """Sales money an agent pays into the company account; Finance verifies it (MIC 收入管理/1-2)."""

    meta = {"collection": "remittances",
            "indexes": ["owner_unit", "agent", "state", "remitted_on",
                        {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-remitted_on"]}
    number_prefix = "HK"

    number = StringField(max_length=32, verbose_name=_l("Number"))
    agent = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Agent"))
    amount = MoneyField(required=True, min_value=Decimal("0.01"), verbose_name=_l("Amount (CNY)"))
    remitted_on = DateField(required=True, verbose_name=_l("Paid in on"))
    reference = StringField(required=True, max_length=120, verbose_name=_l("Bank reference"))
    account = StringField(max_length=120, verbose_name=_l("Into account"))
    note = StringField(max_length=1000, verbose_name=_l("Note"))
    state = StringField(required=True, choices=REMITTANCE_STATES, default="recorded", verbose_name=_l("State"))
    verified_by = StringField(max_length=64, verbose_name=_l("Verified by"))
    verified_at = DateTimeField(verbose_name=_l("Verified at"))
    finance_note = StringField(max_length=1000, verbose_name=_l("Finance's note"))

    def __str__(self) -> str:
        return f"{self.number or ''} {self.amount or ''}".strip()

    def clean(self) -> None:
        if self.agent is not None and self.agent.staff_kind != "agent":
            raise field_error("agent", _l("Choose an agent (an employee of staff kind agent)."))


class DistributionLine(PortalEmbedded):
    """One agent's share: derived sales, tier ratio and amount, plus a performance adjustment with its reason."""

    agent = ReferenceField(Employee, required=True, verbose_name=_l("Agent"))
    tier = StringField(max_length=64, verbose_name=_l("Tier"))
    sales = MoneyField(required=True, verbose_name=_l("Paid sales (CNY)"))
    ratio = DecimalField(required=True, min_value=Decimal("0"), max_value=Decimal("1"), precision=4,
                         verbose_name=_l("Ratio"))
    amount = MoneyField(required=True, verbose_name=_l("Share (CNY)"))
    adjustment = MoneyField(min_value=Decimal("-9999999999.99"), verbose_name=_l("Performance adjustment (CNY)"))
    adjustment_reason = StringField(max_length=500, verbose_name=_l("Reason for the adjustment"))
    total = MoneyField(verbose_name=_l("To pay (CNY)"))
    derived_fields = ("total",)


@owned_by_unit
@approvable(_l("Profit distribution"))
class ProfitDistribution(Numbered, ApprovableDocument):
    """The agents' shares of one period's paid sales, by tier ratio and performance (MIC 利潤分配); approved by the
    department head, then Finance. Each agent sees their own line of an approved distribution."""

    meta = {"collection": "profit_distributions",
            "indexes": ["owner_unit", "status", {"fields": ["number"], "unique": True, "sparse": True},
                        {"fields": ["owner_unit", "period"], "unique": True}, "lines.agent"],
            "ordering": ["-period"]}
    number_prefix = "FP"
    summary_fields = ("number", "period", "owner_unit", "sales_total", "amount_total", "lines")

    number = StringField(max_length=32, verbose_name=_l("Number"))
    period_kind = StringField(required=True, choices=PERIOD_KINDS, default="quarter", verbose_name=_l("Period kind"))
    period = StringField(required=True, max_length=7, verbose_name=_l("Period"))
    lines = ListField(EmbeddedDocumentField(DistributionLine), verbose_name=_l("Lines"))
    sales_total = MoneyField(verbose_name=_l("Paid sales (CNY)"))
    amount_total = MoneyField(verbose_name=_l("To pay (CNY)"))
    computed_at = DateTimeField(verbose_name=_l("Computed at"))
    requested_by = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Requested by"))
    note = StringField(max_length=2000, verbose_name=_l("Note"))

    def __str__(self) -> str:
        return f"{self.number or ''} {self.period or ''}".strip()

    def approval_amount(self):
        return self.amount_total

    def clean(self) -> None:
        if self.owner_unit is None:
            raise field_error("owner_unit", _l("Choose the agent team whose shares these are."))
        self.period = (self.period or "").strip().upper()
        bounds = period_bounds(self.period_kind, self.period)
        if bounds is None:
            raise field_error("period", PERIOD_FORMATS.get(self.period_kind, PERIOD_FORMATS["quarter"]))
        self._no_overlap(bounds)
        sales = total = Decimal("0")
        seen = set()
        for number, line in enumerate(self.lines or []):
            if line.agent is not None and line.agent.pk in seen:
                raise field_error(f"lines.{number}.agent", _l("Each agent has one line."))
            seen.add(getattr(line.agent, "pk", None))
            if line.adjustment and not (line.adjustment_reason or "").strip():
                raise field_error(f"lines.{number}.adjustment_reason",
                                  _l("Say why this agent's share is adjusted (performance, contribution)."))
            line.total = Decimal(line.amount or 0) + Decimal(line.adjustment or 0)
            if line.total < 0:
                raise field_error(f"lines.{number}.adjustment", _l("The adjustment cannot take the share below zero."))
            sales += Decimal(line.sales or 0)
            total += line.total
        self.sales_total, self.amount_total = sales, total

    def _no_overlap(self, bounds) -> None:
        """A sale is shared out once: no other distribution of this team, a team above or below it, covers any
        day of the period (unless it was rejected)."""
        unit = self.owner_unit
        related = [unit.pk, *(unit.ancestors or []), *(u.pk for u in type(unit).objects(ancestors=unit.pk).only("id"))]
        for other in type(self).objects(owner_unit__in=related, status__ne="rejected", pk__ne=self.pk).only(
                "period_kind", "period", "number"):
            theirs = period_bounds(other.period_kind, other.period)
            if theirs and theirs[0] <= bounds[1] and bounds[0] <= theirs[1]:
                raise field_error("period", _l("Distribution %(number)s already shares out sales of this period.",
                                               number=other.number or other.period))

    def check_submittable(self, today) -> None:
        if not self.lines:
            raise field_error("lines", _l("Compute the lines from the period's paid orders first."))
