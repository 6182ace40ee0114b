"""Rules of DOMAIN 3.9 (risk, audit and compliance), one test per rule, named after it and its clause."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from mongoengine import ValidationError

from models.approvals import Notification
from models.audit import AuditEntry
from models.common import utcnow
from models.customers import Customer
from models.risk import AuditFinding, ComplianceReview, CreditAssessment, Indicator, Risk, risk_level
from models.settings import Setting
from portal import reminders, risk
from portal.approvals import Refused
from portal.settings import local_today
from tests.approvals_kit import actor, fields_of, person, unit
from tests.sales_kit import contract, reload

_SEQ = itertools.count(1)
TODAY = local_today()


def a_risk(likelihood=2, impact=3, owner="sales_clerk", **fields) -> Risk:
    values = {"title": f"测试风险{next(_SEQ)}", "category": "market", "response": "reduce",
              "review_on": TODAY + dt.timedelta(days=30), **fields}
    return Risk(likelihood=likelihood, impact=impact, owner=person(owner), **values).save()


def gauge(current, threshold="100", direction="above", name="逾期应收（万元）") -> Indicator:
    return Indicator(name=name, threshold=Decimal(threshold), direction=direction,
                     current=None if current is None else Decimal(current))


def a_customer(**fields) -> Customer:
    return Customer(name=f"测试信用客户{next(_SEQ)}有限公司", owner=person("sales_clerk"), **fields).save()


def assessment(customer, rating="A", limit="100000", days_ago=10, **fields) -> CreditAssessment:
    values = {"assessed_on": TODAY - dt.timedelta(days=days_ago), "basis": "财务报表与回款记录", **fields}
    return CreditAssessment(customer=customer, rating=rating, credit_limit=Decimal(limit), **values).save()


def finding(**fields) -> AuditFinding:
    values = {"area": "finance", "finding": "报销单缺少发票原件", "severity": "medium",
              "responsible": person("sales_rep"), "corrective_action": "补齐发票",
              "due_on": TODAY + dt.timedelta(days=7), **fields}
    return AuditFinding(**values).save()


def told(kind: str, record) -> list:
    return [n.recipient for n in Notification.objects(kind=kind, link__contains=str(record.pk))]


# ---- the risk register (DSC 6(1), SOC 9.1, FSS 8(2)) ------------------------------------------------------------
@pytest.mark.parametrize(("score", "level"), [(1, "low"), (4, "low"), (5, "medium"), (9, "medium"), (10, "high"),
                                              (16, "high"), (17, "critical"), (25, "critical")])
def test_the_level_follows_the_score_bands_at_every_edge_DSC_6_1_2(score, level):
    assert risk_level(score) == level  # low <= 4 < medium <= 9 < high <= 16 < critical


@pytest.mark.parametrize(("likelihood", "impact", "score", "level"), [
    (1, 1, 1, "low"), (2, 2, 4, "low"), (1, 5, 5, "medium"), (3, 3, 9, "medium"), (2, 5, 10, "high"),
    (4, 4, 16, "high"), (4, 5, 20, "critical"), (5, 5, 25, "critical")])  # 17 is no product of 1-5: 20 is next
def test_a_risks_score_and_level_are_derived_from_likelihood_and_impact_SOC_9_1(db, likelihood, impact, score,
                                                                                level):
    saved = a_risk(likelihood, impact, score=99, level="low")  # whatever is given, they are derived on save
    assert (reload(saved).score, reload(saved).level) == (score, level)


def test_likelihood_and_impact_are_rated_from_1_to_5_FSS_8_2_1(db):
    for likelihood, impact in ((0, 3), (6, 3), (3, 0), (3, 6)):
        with pytest.raises(ValidationError) as raised:
            a_risk(likelihood, impact)
        assert fields_of(raised) & {"likelihood", "impact"}


def test_a_risk_has_a_category_a_response_an_owner_and_a_review_date_DSC_6_1_3(db):
    with pytest.raises(ValidationError) as raised:
        Risk(title="无主风险", likelihood=2, impact=2).save()
    assert {"category", "response", "owner", "review_on"} <= fields_of(raised)
    with pytest.raises(ValidationError):
        a_risk(category="weather")  # market, credit, operational, legal, contract (FSS 8(1)1)
    kept = a_risk(owner="service_head")
    assert kept.owner_unit.pk == unit("BR-CS").pk  # kept by the owner's unit


def test_a_breached_indicator_flags_the_risk_SOC_9_3(db):
    above = a_risk(indicators=[gauge("100"), gauge("99", "50", "below", name="毛利率（%）")])
    assert not above.breached and not any(i.breached for i in above.indicators)  # at the threshold: no breach
    above.indicators[0].current = Decimal("100.01")
    above.save()
    assert reload(above).breached and reload(above).indicators[0].breached and reload(above).breach_key
    below = a_risk(indicators=[gauge("49.99", "50", "below")])
    assert reload(below).breached
    assert not a_risk(indicators=[gauge(None)]).breached  # not measured yet
    with pytest.raises(ValidationError) as raised:
        a_risk(indicators=[gauge("1"), gauge("2")])
    assert "indicators" in fields_of(raised)


def test_the_owner_is_told_once_per_breach_SOC_9_3(db):
    watched = a_risk(owner="sales_rep", indicators=[gauge("120")])
    assert len(risk.notify_breach(watched.pk)) == 1
    assert risk.notify_breach(watched.pk) == [] and not [s for s in reminders.run()[0] if s.kind == "risk_breach"
                                                         and s.title == watched.title]
    assert told("risk_breach", watched) == [person("sales_rep").pk]
    watched.indicators[0].current = Decimal("130")  # still the same breach
    watched.save()
    assert risk.notify_breach(watched.pk) == []
    watched.indicators[0].current = Decimal("80")  # back within the threshold
    watched.save()
    assert reload(watched).breach_notified is None
    watched = reload(watched)
    watched.indicators[0].current = Decimal("150")  # a new breach
    watched.save()
    assert len(risk.notify_breach(watched.pk)) == 1 and len(told("risk_breach", watched)) == 2


def test_a_closed_risk_raises_no_breach_notice_SOC_9_3(db):
    closed = a_risk(status="closed", indicators=[gauge("120")])
    assert risk.notify_breach(closed.pk) == []


def test_the_matrix_counts_live_risks_by_likelihood_and_impact_SOC_9_1(db):
    def cell(grid, likelihood, impact):
        return next(c for row in grid for c in row if (c["likelihood"], c["impact"]) == (likelihood, impact))

    before = risk.matrix({})
    a_risk(5, 5)
    a_risk(5, 5, status="monitoring")
    a_risk(5, 5, status="closed")  # closed risks are not on the matrix
    a_risk(1, 5)
    grid = risk.matrix({})
    assert [{c["likelihood"] for c in row} for row in grid] == [{5}, {4}, {3}, {2}, {1}]
    assert [c["impact"] for c in grid[0]] == [1, 2, 3, 4, 5]
    assert cell(grid, 5, 5)["count"] == cell(before, 5, 5)["count"] + 2
    assert cell(grid, 1, 5)["count"] == cell(before, 1, 5)["count"] + 1
    assert (cell(grid, 5, 5)["level"], cell(grid, 1, 5)["level"], cell(grid, 2, 2)["level"]) == (
        "critical", "medium", "low")
    mine = risk.matrix({"owner_unit": unit("BR-CS").pk})
    assert sum(c["count"] for row in mine for c in row) == Risk.objects(owner_unit=unit("BR-CS").pk,
                                                                        status__ne="closed").count()


def test_overdue_reviews_are_reminded_once_to_the_owner_and_the_unit_head_FSS_8_1_2(db):
    late = a_risk(owner="sales_rep", review_on=TODAY - dt.timedelta(days=1))
    a_risk(owner="sales_rep", review_on=TODAY - dt.timedelta(days=1), status="closed")
    a_risk(owner="sales_rep", review_on=TODAY)  # due today: not yet overdue
    sent = [s for s in risk.review_reminders(utcnow()) if s.title == late.title]
    assert len(sent) == 1
    assert set(told("risk_review_due", late)) == {person("sales_rep").pk, person("sales_head").pk}
    assert not [s for s in reminders.run()[0] if s.kind == "risk_review_due" and s.title == late.title]
    late = reload(late)
    late.review_on = TODAY - dt.timedelta(days=1) - dt.timedelta(days=1)  # a new review date: told again
    late.save()
    assert [s for s in reminders.run()[0] if s.kind == "risk_review_due" and s.title == late.title]


def test_a_unit_heads_own_overdue_review_goes_to_their_own_head_FSS_8_1_2(db):
    late = a_risk(owner="sales_head", review_on=TODAY - dt.timedelta(days=3))
    risk.review_reminders(utcnow())
    assert set(told("risk_review_due", late)) == {person("sales_head").pk, person("branch_head").pk}


# ---- credit (DSC 6(2)3, FSS 8(3)2) ---------------------------------------------------------------------------------
def test_the_latest_assessment_is_the_customers_rating_and_limit_DSC_6_2_3(db):
    buyer = a_customer()
    older = assessment(buyer, "A", "80000", days_ago=100)
    assert (reload(buyer).credit_rating, reload(buyer).credit_limit) == ("A", Decimal("80000.00"))
    latest = assessment(buyer, "AA", "150000", days_ago=5)
    assessment(buyer, "AAA", "900000", days_ago=50)  # entered later, dated earlier: not the latest
    assert (reload(buyer).credit_rating, reload(buyer).credit_limit) == ("AA", Decimal("150000.00"))
    entries = AuditEntry.objects(collection="customers", record_id=str(buyer.pk), note="credit assessment")
    assert {c.field for e in entries for c in e.changes} == {"credit_rating", "credit_limit"}
    latest.delete()
    assert (reload(buyer).credit_rating, reload(buyer).credit_limit) == ("AAA", Decimal("900000.00"))
    for left in CreditAssessment.objects(customer=buyer):
        left.delete()
    assert (reload(buyer).credit_rating, reload(buyer).credit_limit) == (None, None)
    assert older.pk is not None


def test_moving_an_assessment_to_another_customer_updates_both_DSC_6_2_3(db):
    first, second = a_customer(), a_customer()
    moved = assessment(first, "B", "20000", prepayment_percent=Decimal(40))
    moved.customer = second
    moved.save()
    assert reload(first).credit_rating is None and reload(second).credit_rating == "B"


def test_weak_credit_needs_a_guarantee_or_a_higher_prepayment_DSC_6_2_3(db):
    buyer = a_customer()
    for rating in ("B", "C"):
        with pytest.raises(ValidationError) as raised:
            assessment(buyer, rating, "10000")
        assert "required_guarantee" in fields_of(raised)
        with pytest.raises(ValidationError):
            assessment(buyer, rating, "10000", prepayment_percent=Decimal("29.99"))
    assert assessment(buyer, "C", "10000", prepayment_percent=Decimal(30)).pk  # the setting's default: 30 percent
    assert assessment(buyer, "C", "10000", required_guarantee="法定代表人个人连带担保").pk
    assert assessment(buyer, "A", "10000").pk  # sound credit needs neither
    Setting.objects(key="weak_credit_prepayment_percent").update_one(set__value="50", upsert=True,
                                                                     set__kind="int")
    with pytest.raises(ValidationError):
        assessment(buyer, "B", "10000", prepayment_percent=Decimal(40))


def test_an_assessment_is_dated_today_or_earlier_and_valid_after_it_FSS_8_3_2(db):
    buyer = a_customer()
    with pytest.raises(ValidationError) as raised:
        assessment(buyer, days_ago=-1)
    assert "assessed_on" in fields_of(raised)
    with pytest.raises(ValidationError) as raised:
        assessment(buyer, valid_until=TODAY - dt.timedelta(days=30))
    assert "valid_until" in fields_of(raised)
    with pytest.raises(ValidationError) as raised:
        assessment(buyer, prepayment_percent=Decimal(101))
    assert "prepayment_percent" in fields_of(raised)
    assert assessment(buyer).owner_unit.pk == buyer.owner_unit.pk  # kept with the customer's unit


# ---- internal audit (DSC 6(3)3) ---------------------------------------------------------------------------------
def test_a_finding_is_numbered_and_belongs_to_the_responsible_unit_DSC_6_3_3(db):
    raised = finding()
    assert raised.number.startswith(f"SJ-{TODAY.year}-") and raised.owner_unit.pk == unit("BR-SALES").pk
    with pytest.raises(ValidationError) as refused:
        finding(responsible=None)
    assert "owner_unit" in fields_of(refused)


def test_the_responsible_side_reports_the_correction_and_internal_audit_verifies_it_DSC_6_3_3(db):
    item = finding()
    with pytest.raises(Refused):
        risk.report_correction(item, actor("auditor"), "已补齐")  # audit does not correct its own findings
    with pytest.raises(Refused):
        risk.report_correction(item, actor("sales_rep"), "  ")  # say what was corrected
    with pytest.raises(Refused):
        risk.verify_finding(item, actor("auditor"), "")  # nothing reported yet
    risk.start_finding(item, actor("sales_rep"))
    assert reload(item).status == "in_progress"
    risk.report_correction(reload(item), actor("sales_rep"), "已补齐 3 张发票原件")
    item = reload(item)
    assert (item.status, item.corrected_by, item.corrected_login) == ("corrected", "孙浩", "sales_rep")
    with pytest.raises(Refused):
        risk.verify_finding(item, actor("sales_rep"), "")  # not internal audit
    with pytest.raises(Refused):
        risk.reopen_finding(item, actor("auditor"), "")  # a reason is needed
    risk.reopen_finding(item, actor("auditor"), "缺少复核记录")
    assert reload(item).status == "in_progress"
    risk.report_correction(reload(item), actor("sales_clerk"), "补充复核记录")  # a clerk of the unit may report
    risk.verify_finding(reload(item), actor("auditor"), "抽查无误")
    item = reload(item)
    assert (item.status, item.verified_by) == ("verified", "吴刚")
    changes = [c.new for e in AuditEntry.objects(collection="audit_findings", record_id=str(item.pk)) for c in e.changes
               if c.field == "status"]
    assert {"in_progress", "corrected", "verified"} <= set(changes)


def test_whoever_reported_a_correction_does_not_verify_it_DSC_6_3_3(db):
    item = finding(responsible=person("auditor"))  # an auditor responsible for a finding of their own unit
    risk.report_correction(item, actor("auditor"), "已整改")
    with pytest.raises(Refused):
        risk.verify_finding(reload(item), actor("auditor"), "")
    assert reload(item).status == "corrected"


def test_overdue_corrective_actions_are_flagged_and_reminded_once_DSC_6_3_3(db):
    late = finding(due_on=TODAY - dt.timedelta(days=1))
    assert late.overdue and not finding().overdue
    done = finding(due_on=TODAY - dt.timedelta(days=1), status="corrected")
    assert not done.overdue
    sent = [s for s in reminders.run()[0] if s.kind == "finding_overdue"]
    assert late.number in [s.title for s in sent] and done.number not in [s.title for s in sent]
    assert set(told("finding_overdue", late)) == {person("sales_rep").pk, person("sales_head").pk}
    assert not [s for s in reminders.run()[0] if s.kind == "finding_overdue" and s.title == late.number]


# ---- legal compliance (DSC 6(4)3, SOC 9.2) --------------------------------------------------------------------------
def test_a_compliance_review_names_its_contract_or_decision_DSC_6_4_3(db):
    base = {"reviewer": person("legal"), "opinion": "条款合法", "result": "compliant", "reviewed_on": TODAY}
    with pytest.raises(ValidationError) as raised:
        ComplianceReview(subject_kind="contract", **base).save()
    assert "contract" in fields_of(raised)
    with pytest.raises(ValidationError) as raised:
        ComplianceReview(subject_kind="decision", **base).save()
    assert "decision_title" in fields_of(raised)
    signed = contract()
    review = ComplianceReview(subject_kind="contract", contract=signed, decision_title="x", **base).save()
    assert review.owner_unit.pk == signed.owner_unit.pk and review.decision_title is None
    with pytest.raises(ValidationError) as raised:
        ComplianceReview(subject_kind="decision", decision_title="未来的决定", **{
            **base, "reviewed_on": TODAY + dt.timedelta(days=1)}).save()
    assert "reviewed_on" in fields_of(raised)


def test_a_conditional_opinion_states_its_conditions_SOC_9_2(db):
    with pytest.raises(ValidationError) as raised:
        ComplianceReview(subject_kind="decision", decision_title="设立办事处", reviewer=person("legal"), opinion="可行",
                         result="conditional", reviewed_on=TODAY).save()
    assert "conditions" in fields_of(raised)


def test_compliance_reviews_are_given_by_legal_DSC_6_4_3(db):
    review = ComplianceReview(subject_kind="decision", decision_title="设立办事处", reviewer=person("sales_clerk"),
                              opinion="可行", result="compliant", reviewed_on=TODAY)
    with pytest.raises(ValidationError) as raised:
        risk.check_reviewer(review)
    assert "reviewer" in fields_of(raised)
    review.reviewer = person("legal")
    risk.check_reviewer(review)
