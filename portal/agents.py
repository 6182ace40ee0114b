"""Agent network rules (DOMAIN 3.5; MIC 財務管理/收入管理, 利潤分配): profit shares derived from the period's paid
orders and the tier ratios, Finance's check of remittances, each agent's balance. No Flask here."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from mongoengine import ValidationError

from models.agents import AgentTier, DistributionLine, ProfitDistribution, Remittance
from models.approvals import EDITABLE_STATUSES
from models.common import CENT, from_fen, period_bounds, utcnow
from models.org import Employee, OrgUnit
from models.sales import SOLD_STAGES, SalesOrder
from portal import approvals, audit
from portal.approvals import Actor, Refused
from portal.compat import flatten_errors

approvals.register(ProfitDistribution, all_roles={"Finance"})


def _day(value: dt.date) -> dt.datetime:
    return dt.datetime.combine(value, dt.time())


def unit_agents(unit_id) -> list[dict]:
    """Agents of a unit and every unit below it."""
    units = [unit_id, *(u["_id"] for u in OrgUnit._get_collection().find({"ancestors": unit_id}, {"_id": 1}))]
    return list(Employee._get_collection().find({"staff_kind": "agent", "owner_unit": {"$in": units}},
                                                {"name": 1, "agent_tier": 1}))


def paid_sales(agent_ids: list, start: dt.date, end: dt.date) -> dict:
    """Each agent's orders paid within the period, summed by MongoDB (fen)."""
    rows = SalesOrder._get_collection().aggregate([
        {"$match": {"salesperson": {"$in": agent_ids}, "stage": {"$in": list(SOLD_STAGES)},
                    "paid_on": {"$gte": _day(start), "$lte": _day(end)}}},
        {"$group": {"_id": "$salesperson", "sales": {"$sum": "$total"}}}])
    return {row["_id"]: row["sales"] for row in rows}


def compute_lines(distribution: ProfitDistribution, actor: Actor) -> ProfitDistribution:
    """(Re)derive and save the lines of a draft distribution."""
    if distribution.status not in EDITABLE_STATUSES:
        raise Refused(_l("Only a draft distribution can be computed again."))
    derive(distribution)
    try:
        distribution.save()
    except ValidationError as exc:
        raise Refused("; ".join(dict.fromkeys(flatten_errors(exc).values()))) from None
    return distribution


def derive(distribution: ProfitDistribution) -> None:
    """The lines of a distribution (MIC 利潤分配/1): each agent of the unit with paid sales in the period gets
    sales x their tier's ratio. Only the adjustments and their reasons come from the lines as they were (/2):
    sales, ratio and amount are never taken from a form."""
    bounds = period_bounds(distribution.period_kind, distribution.period)
    if bounds is None or distribution.owner_unit is None:
        raise Refused(_l("Give the unit and a valid period first."))
    agents = unit_agents(distribution.owner_unit.pk)
    sales = paid_sales([a["_id"] for a in agents], *bounds)
    tiers = {t.pk: t for t in AgentTier.objects(pk__in=list({a.get("agent_tier") for a in agents} - {None}))}
    kept = {line.agent.pk: line for line in distribution.lines or [] if line.agent is not None}
    people = {e.pk: e for e in Employee.objects(pk__in=[a["_id"] for a in agents if sales.get(a["_id"])])}
    lines = []
    for agent in sorted(agents, key=lambda a: a.get("name") or ""):
        fen = sales.get(agent["_id"])
        if not fen:
            continue
        tier = tiers.get(agent.get("agent_tier"))
        ratio = Decimal(tier.profit_share) if tier is not None else Decimal("0")
        amount = (from_fen(fen) * ratio).quantize(CENT, ROUND_HALF_UP)
        old = kept.get(agent["_id"])
        lines.append(DistributionLine(agent=people[agent["_id"]], tier=tier.name if tier else "", sales=from_fen(fen),
                                      ratio=ratio, amount=amount, adjustment=old.adjustment if old else None,
                                      adjustment_reason=old.adjustment_reason if old else None))
    distribution.lines = lines
    distribution.computed_at = utcnow()


def my_lines(employee_id, limit: int = 100) -> list[dict]:
    """An agent's own line of every approved distribution, and nobody else's (MIC 利潤分配/3)."""
    if employee_id is None:
        return []
    out = []
    for raw in ProfitDistribution._get_collection().find(
            {"status": "approved", "lines.agent": employee_id},
            {"number": 1, "period": 1, "decided_at": 1, "lines": 1}).sort("period", -1).limit(limit):
        line = next(row for row in raw["lines"] if row.get("agent") == employee_id)  # only this agent's line
        out.append({"number": raw.get("number"), "period": raw.get("period"), "decided_at": raw.get("decided_at"),
                    "tier": line.get("tier"), "sales": from_fen(line.get("sales") or 0),
                    "ratio": Decimal(str(line.get("ratio") or 0)), "amount": from_fen(line.get("amount") or 0),
                    "adjustment": from_fen(line.get("adjustment") or 0),
                    "adjustment_reason": line.get("adjustment_reason") or "",
                    "total": from_fen(line.get("total") or 0)})
    return out


def verify(remittance_id, actor: Actor, accept: bool, note: str, now: dt.datetime | None = None) -> dict:
    """Finance matches a remittance with the bank (MIC 收入管理/2); a rejection says why."""
    now = now or utcnow()
    note = (note or "").strip()
    if not accept and not note:
        raise Refused(_l("Say why the remittance is rejected."))
    raw = Remittance._get_collection().find_one({"_id": remittance_id}, {"agent": 1})
    if raw is None:
        raise Refused(_l("This remittance no longer exists."))
    if raw.get("agent") == actor.employee_id:
        raise Refused(_l("Nobody verifies their own remittance."))
    _before, after = audit.guarded_change(
        Remittance, remittance_id, "state", ["recorded"],
        {"state": "verified" if accept else "rejected", "verified_by": actor.name, "verified_at": now,
         "finance_note": note[:1000]}, actor.username, now)
    if after is None:
        raise Refused(_l("This remittance was already checked."))
    if accept:
        from portal import receivables  # the ledger imports the balances from here

        receivables.book_remittance(after, actor, now)
    return after


def balances(agent_ids: list | None = None, limit: int = 500) -> list[dict]:
    """Per agent: sales of confirmed orders, verified remittances, and what is still to be paid in (MIC 收入管理/1)."""
    match = {"staff_kind": "agent"}
    if agent_ids is not None:
        match["_id"] = {"$in": agent_ids}
    agents = list(Employee._get_collection().find(match, {"name": 1, "employee_no": 1, "region": 1}).limit(limit))
    ids = [a["_id"] for a in agents]
    sold = {r["_id"]: r["fen"] for r in SalesOrder._get_collection().aggregate([
        {"$match": {"salesperson": {"$in": ids}, "stage": {"$in": list(SOLD_STAGES)}}},
        {"$group": {"_id": "$salesperson", "fen": {"$sum": "$total"}}}])}
    paid = {r["_id"]: r["fen"] for r in Remittance._get_collection().aggregate([
        {"$match": {"agent": {"$in": ids}, "state": "verified"}},
        {"$group": {"_id": "$agent", "fen": {"$sum": "$amount"}}}])}
    rows = [{"agent": a, "sold": from_fen(sold.get(a["_id"], 0)), "remitted": from_fen(paid.get(a["_id"], 0)),
             "outstanding": from_fen(sold.get(a["_id"], 0) - paid.get(a["_id"], 0))} for a in agents]
    rows.sort(key=lambda r: r["outstanding"], reverse=True)
    return rows
