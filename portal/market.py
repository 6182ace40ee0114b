"""Market expansion rules (DOMAIN 3.1): research reports go to the department manager (BRD 3(1)3); the annual
plan to the department manager, then the branch leadership (BRD 3(2)3)."""

import datetime as dt

from flask_babel import lazy_gettext as _l

from models.audit import FieldChange
from models.common import utcnow
from models.market import MarketExpansionPlan, MarketResearch, PromotionCampaign
from portal import approvals, audit

approvals.register(MarketResearch)
approvals.register(MarketExpansionPlan)


def report_feedback(campaign, actor: approvals.Actor, text: str, today: dt.date) -> None:
    """An agent reports the effect of a campaign and the market response in their region (MIC 營銷活動策劃/3)."""
    text = (text or "").strip()[:2000]
    if not text:
        raise approvals.Refused(_l("Write what happened in your region."))
    mine = next((line for line in campaign.agent_plans or []
                 if line.agent is not None and line.agent.pk == actor.employee_id), None)
    if mine is None:
        raise approvals.Refused(_l("You have no local plan in this campaign."))
    PromotionCampaign._get_collection().update_one(
        {"_id": campaign.pk, "agent_plans.agent": actor.employee_id},
        {"$set": {"agent_plans.$.feedback": text, "agent_plans.$.reported_on": dt.datetime.combine(today, dt.time()),
                  "updated_at": utcnow(), "updated_by": actor.username}, "$inc": {"version": 1}})
    audit.record("update", campaign, [FieldChange(field="agent_plans.feedback", old=mine.feedback or "", new=text)],
                 note=f"by {actor.username}")
