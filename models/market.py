"""Market expansion (DOMAIN 3.1; BRD 3, DSC 2(2)3, SOC 2, MIC 營銷管理): research, the annual plan, campaigns."""

from flask_babel import lazy_gettext as _l
from mongoengine import (
    DENY,
    NULLIFY,
    DateField,
    EmbeddedDocumentField,
    IntField,
    ListField,
    ReferenceField,
    StringField,
)

from models.approvals import ApprovableDocument, approvable
from models.common import MoneyField, Numbered, OwnedDocument, PortalEmbedded, choices, field_error
from models.files import Attachment
from models.org import Employee, owned_by_unit

RESEARCH_METHODS = choices(
    ("questionnaire", _l("Questionnaire")), ("interview", _l("Interview")),
    ("data_analysis", _l("Data analysis")), ("industry_report", _l("Industry report")),
)
CAMPAIGN_CHANNELS = choices(
    ("exhibition", _l("Exhibition")), ("launch_event", _l("Launch event")), ("online", _l("Online")),
    ("festival", _l("Festival promotion")), ("other", _l("Other")),
)
CAMPAIGN_STATUSES = choices(
    ("planned", _l("Planned")), ("running", _l("Running")), ("finished", _l("Finished")),
    ("cancelled", _l("Cancelled")),
)


def _period(document, start: str, end: str) -> None:
    first, last = getattr(document, start), getattr(document, end)
    if first and last and last < first:
        raise field_error(end, _l("The end cannot be before the start."))


@owned_by_unit
@approvable(_l("Market research report"))
class MarketResearch(ApprovableDocument):
    """A research report on trends, demand and competitors, submitted to the department manager (BRD 3(1))."""

    meta = {"collection": "market_research", "indexes": ["owner_unit", "author", "status"],
            "ordering": ["-period_end"]}
    requester_field = "author"
    summary_fields = ("topic", "author", "period_start", "period_end", "methods", "findings", "competitors")

    topic = StringField(required=True, max_length=200, verbose_name=_l("Topic"))
    author = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Author"))
    period_start = DateField(required=True, verbose_name=_l("Period from"))
    period_end = DateField(required=True, verbose_name=_l("Period to"))
    methods = ListField(StringField(choices=RESEARCH_METHODS), required=True, verbose_name=_l("Methods"))
    findings = StringField(required=True, max_length=20000, verbose_name=_l("Findings"))
    competitors = StringField(max_length=20000, verbose_name=_l("Competitor notes"))
    report = ReferenceField(Attachment, reverse_delete_rule=NULLIFY, verbose_name=_l("Report file"))

    def __str__(self) -> str:
        return self.topic or ""

    def clean(self) -> None:
        _period(self, "period_start", "period_end")
        if self.owner_unit is None and self.author is not None:
            self.owner_unit = self.author.owner_unit


@owned_by_unit
@approvable(_l("Market expansion plan"))
class MarketExpansionPlan(Numbered, ApprovableDocument):
    """The annual plan drawn from research (BRD 3(2)); department manager, then branch leadership approve."""

    meta = {"collection": "market_plans", "indexes": ["owner_unit", "year", "status", "drafted_by",
                                                      {"fields": ["number"], "unique": True, "sparse": True}],
            "ordering": ["-year"]}
    number_prefix = "JH"
    requester_field = "drafted_by"
    summary_fields = ("number", "year", "title", "targets", "regions", "customer_groups", "approaches", "schedule")

    number = StringField(max_length=32, verbose_name=_l("Number"))
    year = IntField(required=True, min_value=2000, max_value=2100, verbose_name=_l("Year"))
    title = StringField(required=True, max_length=200, verbose_name=_l("Title"))
    drafted_by = ReferenceField(Employee, required=True, reverse_delete_rule=DENY, verbose_name=_l("Drafted by"))
    targets = StringField(required=True, max_length=5000, verbose_name=_l("Targets"))
    regions = ListField(StringField(max_length=64), required=True, verbose_name=_l("Key regions"))
    customer_groups = StringField(required=True, max_length=5000, verbose_name=_l("Target customer groups"))
    approaches = StringField(required=True, max_length=5000, verbose_name=_l("Approaches"))
    schedule = StringField(required=True, max_length=5000, verbose_name=_l("Schedule"))
    research = ListField(ReferenceField(MarketResearch), verbose_name=_l("Based on research"))

    def __str__(self) -> str:
        return f"{self.number or ''} {self.year or ''} {self.title or ''}".strip()

    def clean(self) -> None:
        if self.owner_unit is None and self.drafted_by is not None:
            self.owner_unit = self.drafted_by.owner_unit


class AgentPlan(PortalEmbedded):
    """An agent's local execution plan for a campaign and what they report back (MIC 營銷活動策劃/2-3)."""

    agent = ReferenceField(Employee, required=True, verbose_name=_l("Agent"))
    region = StringField(max_length=64, verbose_name=_l("Region"))
    plan = StringField(required=True, max_length=2000, verbose_name=_l("Local plan"))
    feedback = StringField(max_length=2000, verbose_name=_l("Effect and market response"))
    reported_on = DateField(verbose_name=_l("Reported on"))


@owned_by_unit
class PromotionCampaign(Numbered, OwnedDocument):
    """A promotion with its plan and, afterwards, cost, effect and lessons (BRD 3(3))."""

    meta = {"collection": "campaigns", "indexes": ["owner_unit", "status", "start",
                                                   {"fields": ["number"], "unique": True, "sparse": True},
                                                   "agent_plans.agent"],
            "ordering": ["-start"]}
    number_prefix = "HD"

    number = StringField(max_length=32, verbose_name=_l("Number"))
    theme = StringField(required=True, max_length=200, verbose_name=_l("Theme"))
    content = StringField(required=True, max_length=5000, verbose_name=_l("Content"))
    channels = ListField(StringField(choices=CAMPAIGN_CHANNELS), required=True, verbose_name=_l("Channels"))
    start = DateField(required=True, verbose_name=_l("Start"))
    end = DateField(required=True, verbose_name=_l("End"))
    budget = MoneyField(required=True, verbose_name=_l("Budget"))
    expected_result = StringField(required=True, max_length=2000, verbose_name=_l("Expected result"))
    organizer = ReferenceField(Employee, reverse_delete_rule=NULLIFY, verbose_name=_l("Organizer"))
    status = StringField(required=True, choices=CAMPAIGN_STATUSES, default="planned", verbose_name=_l("Status"))
    actual_cost = MoneyField(verbose_name=_l("Actual cost"))
    evaluation = StringField(max_length=5000, verbose_name=_l("Effect evaluation"))
    lessons = StringField(max_length=5000, verbose_name=_l("Lessons"))
    agent_plans = ListField(EmbeddedDocumentField(AgentPlan), verbose_name=_l("Agents' local plans"))

    def __str__(self) -> str:
        return f"{self.number or ''} {self.theme or ''}".strip()

    def clean(self) -> None:
        _period(self, "start", "end")
        if self.status == "finished":  # reviewed afterwards for effect and lessons (BRD 3(3)3)
            for name, message in (("actual_cost", _l("A finished campaign needs its actual cost.")),
                                  ("evaluation", _l("A finished campaign needs its effect evaluation."))):
                if getattr(self, name) in (None, ""):
                    raise field_error(name, message)
        agents = [line.agent.pk for line in self.agent_plans or [] if line.agent is not None]
        if len(agents) != len(set(agents)):
            raise field_error("agent_plans", _l("Each agent has one local plan per campaign."))
