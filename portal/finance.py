"""Finance rules (DOMAIN 3.6): spending derived from the claims, the budget gate (FSS 7(3)2) and payment."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l

from models.common import from_fen, money, utcnow
from models.finance import Budget, BudgetIncrease, ExpenseClaim
from portal import approvals, notify

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


approvals.register(Budget, all_roles={"Finance"})
approvals.register(BudgetIncrease, all_roles={"Finance"})
approvals.register(ExpenseClaim, all_roles={"Finance"}, on_submit=check_budget)
