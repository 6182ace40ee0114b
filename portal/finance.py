"""Finance rules (DOMAIN 3.6): spending derived from the claims, the budget gate (FSS 7(3)2), payment, expense
plans set against their claims (FSS 7(1)2) and the review of fund reconciliations (DSC 5(4)2). No Flask here."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from mongoengine import ValidationError

from models.common import from_fen, money, utcnow
from models.finance import (
    BUDGET_CATEGORIES,
    Budget,
    BudgetIncrease,
    ExpenseClaim,
    ExpensePlan,
    FundReconciliation,
    ref_id,
)
from portal import approvals, audit, notify

COMMITTING = ("pending", "approved", "paid")  # claim statuses that use up their budget line


class BudgetExceeded(approvals.Refused):
    """The claim would take its budget line over the limit; `excess` is what a BudgetIncrease must cover."""

    def __init__(self, budget_id, excess: Decimal):
        super().__init__(_l("This claim would take its budget line over the limit by ¥%(excess)s. Request a budget "
                            "increase for the excess; once it is approved the claim can be submitted.",
                            excess=f"{excess:,.2f}"))
        self.budget_id = budget_id
        self.excess = excess


def figures(budget_ids) -> dict:
    """Per budget line: approved increases, committed and paid claims (two aggregations for any number)."""
    ids = list(budget_ids)
    out = {i: {"increased": 0, "committed": 0, "actual": 0} for i in ids}
    if not ids:
        return {}
    for row in ExpenseClaim._get_collection().aggregate([
            {"$match": {"budget": {"$in": ids}, "status": {"$in": list(COMMITTING)}}},
            {"$group": {"_id": {"budget": "$budget", "status": "$status"}, "fen": {"$sum": "$total"}}}]):
        line = out[row["_id"]["budget"]]
        line["committed"] += row["fen"]
        if row["_id"]["status"] == "paid":
            line["actual"] += row["fen"]
    for row in BudgetIncrease._get_collection().aggregate([
            {"$match": {"budget": {"$in": ids}, "status": "approved"}},
            {"$group": {"_id": "$budget", "fen": {"$sum": "$amount"}}}]):
        out[row["_id"]]["increased"] += row["fen"]
    return {i: {k: from_fen(v) for k, v in line.items()} for i, line in out.items()}


def attach_figures(budgets) -> list:
    """Give each Budget its derived figures: limit, available and variance included (DSC 5(1)3)."""
    budgets = [b for b in budgets if b is not None]
    found = figures({b.pk for b in budgets})
    for budget in budgets:
        line = found.get(budget.pk, {"increased": Decimal("0"), "committed": Decimal("0"), "actual": Decimal("0")})
        limit = money(budget.annual_amount) + line["increased"]
        budget.figures = {**line, "limit": limit, "available": limit - line["committed"],
                          "variance": limit - line["actual"]}
    return budgets


def check_budget(claim: ExpenseClaim) -> None:
    """The gate, run after the claim is marked pending: refuse when the line's claims now exceed its limit.

    Every submit marks its claim pending before it counts, so two claims submitted at the same moment each
    see the other: the line can never be overspent, at worst both are asked to retry.
    """
    budget = Budget.objects(pk=claim.budget.pk).only("annual_amount", "status").first()
    if budget is None or budget.status != "approved":
        raise approvals.Refused(_l("This budget line is not approved yet."))
    attach_figures([budget])
    if budget.available < 0:
        raise BudgetExceeded(budget.pk, -budget.available)


def excess_for(claim: ExpenseClaim) -> Decimal:
    """How far a draft claim would take its line over the limit (0 when it fits)."""
    if claim.budget is None or claim.status not in ("draft", "returned", "withdrawn"):
        return Decimal("0")
    budget = attach_figures([claim.budget])[0]
    return max(Decimal("0"), money(claim.total) - budget.available)


def pay(claim: ExpenseClaim, actor: approvals.Actor, now=None) -> None:
    """Finance pays an approved claim; from then on it counts as the budget's actual spend."""
    now = now or utcnow()
    if actor.employee_id is not None and actor.employee_id == getattr(claim.claimant, "pk", None):
        raise approvals.Refused(_l("Nobody pays their own claim: another member of Finance does."))
    if not approvals.transition(ExpenseClaim, claim.pk, "pay", now, {"paid_at": now, "paid_by": actor.username}):
        raise approvals.Refused(_l("Only an approved claim can be paid."))
    if claim.approval is not None:
        approvals.append_history(claim.approval, actor, "pay", now)
    claimant = getattr(claim.claimant, "pk", None)
    notify.post([([claimant], "paid", {"title": claim.approval_title()},
                  approvals.REQUEST_PATH.format(id=claim.approval) if claim.approval else "")], now)


def plan_figures(plan: ExpensePlan) -> list[dict]:
    """Planned against claimed, per category, for one plan (FSS 7(1)2): the claims naming it that are pending,
    approved or paid, summed by one aggregation. The last row is the total."""
    rows = {}

    def row(category):
        return rows.setdefault(category, {"category": category, "planned": Decimal("0"), "pending": Decimal("0"),
                                          "approved": Decimal("0"), "paid": Decimal("0")})

    for line in plan.lines or []:
        row(line.category)["planned"] += money(line.amount or 0)
    if plan.pk is not None:
        for found in ExpenseClaim._get_collection().aggregate([
                {"$match": {"plan": plan.pk, "status": {"$in": list(COMMITTING)}}},
                {"$group": {"_id": {"category": "$category", "status": "$status"}, "fen": {"$sum": "$total"}}}]):
            row(found["_id"].get("category"))[found["_id"]["status"]] += from_fen(found["fen"])
    order = [key for key, _label in BUDGET_CATEGORIES]
    out = sorted(rows.values(), key=lambda r: order.index(r["category"]) if r["category"] in order else len(order))
    total = {"category": None, **{k: sum((r[k] for r in out), Decimal("0"))
                                  for k in ("planned", "pending", "approved", "paid")}}
    for line in [*out, total]:
        line["claimed"] = line["pending"] + line["approved"] + line["paid"]
        line["left"] = line["planned"] - line["claimed"]
    return [*out, total]


def check_reconciliation_open(reconciliation: FundReconciliation) -> None:
    """A reviewed reconciliation is a closed record: it is neither edited nor deleted."""
    if reconciliation.status != "open":
        raise ValidationError(str(_l("A reviewed reconciliation can no longer be changed.")))


def review_reconciliation(reconciliation: FundReconciliation, actor: approvals.Actor, note: str = "",
                          now: dt.datetime | None = None) -> dict:
    """Finance reviews a reconciliation (DSC 5(4)2): not the person who prepared it, and a difference only once
    it is explained. One conditional update, so a change made meanwhile (or a second click) is not reviewed."""
    now = now or utcnow()
    if reconciliation.status != "open":
        raise approvals.Refused(_l("This reconciliation is already reviewed."))
    if actor.employee_id is None or actor.employee_id == ref_id(reconciliation._data.get("prepared_by")):
        raise approvals.Refused(_l("Another member of Finance reviews it: not the person who prepared it."))
    difference = money(reconciliation.difference or 0)
    if difference and not (reconciliation.explanation or "").strip():
        raise approvals.Refused(_l("The difference of ¥%(difference)s is not explained yet: the reconciliation stays "
                                   "open until it is.", difference=f"{difference:,.2f}"))
    _before, after = audit.guarded_change(
        FundReconciliation, reconciliation.pk, "status", ["open"],
        {"status": "reviewed", "reviewed_by": actor.name, "reviewed_at": now, "review_note": (note or "")[:1000]},
        actor.username, now,
        extra_condition={"version": reconciliation.version, "prepared_by": {"$ne": actor.employee_id}})
    if after is None:
        raise approvals.Refused(_l("Someone changed this reconciliation a moment ago. Reload it and try again."))
    return after


approvals.register(Budget, all_roles={"Finance"})
approvals.register(BudgetIncrease, all_roles={"Finance"})
approvals.register(ExpenseClaim, all_roles={"Finance"}, on_submit=check_budget)
approvals.register(ExpensePlan, all_roles={"Finance"})
