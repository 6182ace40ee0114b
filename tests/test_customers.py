"""Rules of DOMAIN 3.2 (customers and service), one test per rule, named after it and its clause."""

import datetime as dt
import itertools
import threading
from decimal import Decimal

import pytest
from flask import g
from mongoengine import ValidationError

from models.audit import AuditEntry
from models.common import Counter, next_number, utcnow
from models.customers import (
    Complaint,
    Contact,
    Customer,
    CustomerVisit,
    Inquiry,
    Measure,
    Negotiation,
    ReturnVisit,
    SatisfactionSurvey,
    Score,
    SurveyResponse,
    mask_email,
    mask_phone,
)
from models.settings import Setting
from models.users import PortalUser
from portal import customers, reminders
from portal.approvals import Refused
from portal.settings import local_today
from tests.approvals_kit import actor, fields_of, person, unit

_SEQ = itertools.count(1)


def customer(name=None, owner="sales_clerk", **fields) -> Customer:
    name = name or f"宁波海韵贸易{next(_SEQ)}有限公司"
    fields.setdefault("contacts", [Contact(name="周敏", phone="13711112222", email="zhou@haiyun.example")])
    return Customer(name=name, owner=person(owner), **fields).save()


def complaint(severity="normal", received_at=None, **fields) -> Complaint:
    item = Complaint(customer=fields.pop("customer", None) or customer(), content="送货晚了两天", severity=severity,
                     responsible_unit=unit("BR-SALES"), handler=person("service_clerk"),
                     owner_unit=unit("BR-CS"), received_at=received_at or utcnow(), **fields)
    customers.apply_deadline(item, actor("service_clerk"))
    return item.save()


def signed_in(app, username):
    context = app.test_request_context()
    context.push()
    g.user = PortalUser.objects(username=username).first()
    return context


# ---- numbers ---------------------------------------------------------------------------------------------
def test_customer_numbers_are_a_readable_per_year_series(db):
    first, second = customer("甲公司"), customer("乙公司")
    year = local_today().year
    assert first.code.startswith(f"KH-{year}-") and second.code.startswith(f"KH-{year}-")
    assert int(second.code[-4:]) == int(first.code[-4:]) + 1


def test_document_numbers_are_never_reused(db):
    gone = customer("丙公司")
    number = gone.code
    gone.delete()
    assert customer("丁公司").code != number


def test_document_numbers_are_unique_under_concurrent_creation(db):
    numbers, errors = [], []

    def take():
        try:
            numbers.append(next_number("ZZ", 2099))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(numbers)) == 20
    Counter.objects(id="ZZ-2099").delete()


def test_a_record_that_does_not_save_uses_no_number(db):
    before = Counter.objects(id=f"KH-{local_today().year}").first().seq
    with pytest.raises(ValidationError):
        Customer(name="无负责人公司").save()  # no owner
    assert Counter.objects(id=f"KH-{local_today().year}").first().seq == before


def test_complaints_and_plans_and_campaigns_are_numbered(db):
    assert complaint().number.startswith("TS-")


# ---- the customer file ------------------------------------------------------------------------------------
def test_key_account_needs_a_dedicated_owner_BRD_3_4_3(db):
    with pytest.raises(ValidationError) as raised:
        customer("重点客户公司", key_account=True)
    assert "key_owner" in fields_of(raised)
    assert customer("重点客户公司", key_account=True, key_owner=person("sales_head")).key_owner == person("sales_head")


def test_customer_file_belongs_to_its_owners_unit_BRD_5_2_1(db):
    assert customer(owner="sales_rep").owner_unit == unit("BR-SALES")


def test_a_company_is_on_file_only_once_BRD_5_2_1(db):
    first = customer("重复检查有限公司")
    with pytest.raises(ValidationError, match=first.code):
        customer("重复检查有限公司")


def test_contact_numbers_are_masked_DSC_7_1_2():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("021-6123 4567") == "021****4567"
    assert mask_email("zhou@haiyun.example") == "z***@haiyun.example"
    assert mask_phone("") == "" and mask_email(None) == ""


@pytest.mark.parametrize(("username", "full"), [
    ("sales_clerk", True),  # the owner
    ("sales_head", True),  # the head of the owner's unit
    ("branch_head", True),  # the head above
    ("service_head", False),  # a head of another department
    ("finance", False),  # reads customer files for credit, but not their contacts
    ("admin", True),
])
def test_contacts_shown_in_full_only_to_owner_heads_and_area_roles_DSC_7_1_2(app, db, username, full):
    item = customer()
    context = signed_in(app, username)
    try:
        assert customers.may_see_contacts(item, app.appbuilder.sm.has_access) is full
    finally:
        context.pop()


def test_a_masked_copy_cannot_be_saved_DSC_7_1_2(db):
    item = customer()
    customers.mask_contacts(item)
    with pytest.raises(RuntimeError):
        item.save()
    assert Customer.objects(pk=item.pk).first().contacts[0].phone == "13711112222"


def test_an_edit_that_keeps_masked_values_keeps_the_numbers_DSC_7_1_2(db):
    item = customer()
    customers.mask_contacts(item)
    item.contacts.append(Contact(name="新联系人", phone="13600001111"))
    customers.restore_contacts(item)
    item.save()
    stored = Customer.objects(pk=item.pk).first()
    assert [(c.phone, c.email) for c in stored.contacts] == [("13711112222", "zhou@haiyun.example"),
                                                             ("13600001111", None)]


def test_a_made_up_masked_value_is_refused_DSC_7_1_2(db):
    item = customer()
    item.contacts[0].phone = "139****0000"
    with pytest.raises(ValidationError) as raised:
        item.save()
    assert "contacts" in fields_of(raised)


def test_the_audit_trail_never_records_contact_numbers_DSC_7_1_2(db):
    item = customer()
    item.contacts[0].phone = "13799998888"
    item.save()
    text = " ".join(f"{c.old} {c.new}" for e in AuditEntry.objects(record_id=str(item.pk)) for c in e.changes)
    assert "13711112222" not in text and "13799998888" not in text and "zhou@haiyun" not in text
    assert "137****8888" in text


def test_marking_verified_restarts_the_re_check_clock_BRD_5_2_3(db):
    item = customer(last_verified_on=local_today() - dt.timedelta(days=300))
    customers.mark_verified(item.pk, actor("sales_clerk"), local_today())
    assert Customer.objects(pk=item.pk).first().last_verified_on == local_today()


def test_owner_reminded_to_re_check_a_file_not_verified_for_180_days_BRD_5_2_3(db):
    stale = customer(last_verified_on=local_today() - dt.timedelta(days=181))
    fresh = customer("新近核对公司", last_verified_on=local_today() - dt.timedelta(days=10))
    sent = customers.verify_reminders(utcnow())
    titles = [s.title for s in sent]
    assert stale.code in titles and fresh.code not in titles
    assert stale.code not in [s.title for s in customers.verify_reminders(utcnow())]  # once per period


def test_re_check_period_is_a_setting_BRD_5_2_3(db):
    Setting.objects(key="customer_verify_days").update_one(set__value="5")
    item = customer(last_verified_on=local_today() - dt.timedelta(days=6))
    assert item.code in [s.title for s in customers.verify_reminders(utcnow())]


# ---- inquiries (DSC 3(2)) ----------------------------------------------------------------------------------
def test_inquiry_names_the_customer_or_who_asked_DSC_3_2_3(db):
    with pytest.raises(ValidationError) as raised:
        Inquiry(content="价格？", owner_unit=unit("BR-CS")).save()
    assert "customer" in fields_of(raised)
    walk_in = Inquiry(visitor_name="刘先生", channel="walk_in", content="产品说明书", owner_unit=unit("BR-CS")).save()
    assert walk_in.answered_at is None


def test_inquiry_answer_time_is_recorded_DSC_3_2_1(db):
    item = Inquiry(customer=customer(), content="价格？", answer="已报价", owner_unit=unit("BR-CS")).save()
    assert item.answered and item.answered_at is not None and item.answered_at >= item.received_at


# ---- complaints (BRD 5(1), DSC 3(5)2, SOC 7.3, MIC 客戶投訴處理) --------------------------------------------
@pytest.mark.parametrize(("severity", "hours"), [("critical", 4), ("high", 24), ("normal", 72)])
def test_complaint_response_deadline_follows_severity_BRD_5_1_3(db, severity, hours):
    item = complaint(severity)
    assert item.response_hours == hours and item.due_at == item.received_at + dt.timedelta(hours=hours)


def test_complaint_deadlines_are_settings_BRD_5_1_3(db):
    Setting.objects(key="complaint_hours_critical").update_one(set__value="2")
    assert complaint("critical").response_hours == 2


def test_changing_severity_moves_the_deadline_BRD_5_1_3(db):
    item = complaint("normal")
    item.severity = "critical"
    customers.apply_deadline(item, actor("service_clerk"))
    item.save()
    assert item.due_at == item.received_at + dt.timedelta(hours=4)


def test_overdue_complaints_are_flagged_BRD_5_1_3(db):
    late = complaint("critical", received_at=utcnow() - dt.timedelta(hours=5))
    fresh = complaint("critical")
    assert late.overdue and not fresh.overdue
    customers.answer(late.pk, actor("service_clerk"), "已补发")
    assert not Complaint.objects(pk=late.pk).first().overdue


def test_complaint_log_starts_with_its_receipt_BRD_5_1_2(db):
    item = complaint()
    assert [step.action for step in item.log] == ["received"]


def test_handling_step_puts_the_complaint_in_progress_MIC_客戶投訴處理_1(db):
    item = complaint()
    customers.log_step(item.pk, actor("sales_clerk"), "已联系仓库核实")
    stored = Complaint.objects(pk=item.pk).first()
    assert stored.status == "in_progress" and stored.log[-1].note == "已联系仓库核实"
    with pytest.raises(Refused):
        customers.log_step(item.pk, actor("sales_clerk"), "  ")


def test_answer_records_the_handling_time_and_whether_it_was_in_time_BRD_5_1_3(db):
    item = complaint("high", received_at=utcnow() - dt.timedelta(hours=30))
    customers.answer(item.pk, actor("service_clerk"), "已补发三箱")
    stored = Complaint.objects(pk=item.pk).first()
    assert stored.status == "answered" and stored.result == "已补发三箱"
    assert Decimal("29.9") <= stored.handling_hours <= Decimal("30.1") and stored.on_time is False


def test_a_complaint_is_answered_once(db):
    item = complaint()
    customers.answer(item.pk, actor("service_clerk"), "第一次答复")
    with pytest.raises(Refused):
        customers.answer(item.pk, actor("service_head"), "第二次答复")
    assert Complaint.objects(pk=item.pk).first().result == "第一次答复"


def test_concurrent_answers_give_one_answer(db):
    item = complaint()
    results = []

    def answer(text):
        try:
            customers.answer(item.pk, actor("service_clerk"), text)
            results.append(text)
        except Refused:
            pass

    threads = [threading.Thread(target=answer, args=(f"答复{n}",)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 1 and Complaint.objects(pk=item.pk).first().result == results[0]


def test_closing_needs_the_customers_satisfaction_SOC_7_3(db):
    item = complaint()
    with pytest.raises(Refused):
        customers.close(item.pk, actor("service_clerk"), "satisfied")  # not answered yet
    customers.answer(item.pk, actor("service_clerk"), "已处理")
    with pytest.raises(Refused):
        customers.close(item.pk, actor("service_clerk"), "")
    customers.close(item.pk, actor("service_clerk"), "satisfied", "回访确认")
    stored = Complaint.objects(pk=item.pk).first()
    assert stored.status == "closed" and stored.satisfaction == "satisfied" and stored.closed_at is not None


def test_reopening_needs_a_reason_and_is_logged_MIC_客戶投訴處理_2(db):
    item = complaint()
    customers.answer(item.pk, actor("service_clerk"), "已处理")
    with pytest.raises(Refused):
        customers.reopen(item.pk, actor("service_clerk"), "")
    customers.reopen(item.pk, actor("service_clerk"), "客户仍不满意")
    stored = Complaint.objects(pk=item.pk).first()
    assert stored.status == "in_progress" and [s.action for s in stored.log][-2:] == ["answer", "reopen"]


def test_complaint_state_changes_are_audited(db):
    item = complaint()
    customers.answer(item.pk, actor("service_clerk"), "已处理")
    changes = [c for e in AuditEntry.objects(record_id=str(item.pk)) for c in e.changes if c.field == "status"]
    assert any(c.old == "open" and c.new == "answered" for c in changes)


def test_overdue_complaints_are_in_portal_remind_BRD_5_1_3(db):
    from models.approvals import Notification

    late = complaint("critical", received_at=utcnow() - dt.timedelta(hours=6))
    sent, _mail = reminders.run()
    assert late.number in [s.title for s in sent]
    told = {n.recipient for n in Notification.objects(kind="complaint_overdue", link__contains=str(late.pk))}
    assert told == {person("service_clerk").pk, person("sales_head").pk}  # handler and the responsible head
    assert late.number not in [s.title for s in reminders.run()[0]]  # once


# ---- visits and negotiations (FSS 3(2-3)) --------------------------------------------------------------------
def visit(**fields) -> CustomerVisit:
    fields.setdefault("planned_at", utcnow() - dt.timedelta(days=1))
    return CustomerVisit(customer=fields.pop("customer", None) or customer(), owner=person("sales_rep"),
                         purpose="介绍新品", place="客户办公室", owner_unit=unit("BR-SALES"), **fields).save()


def test_a_visit_marked_done_needs_outcome_and_intention_FSS_3_2_4(db):
    with pytest.raises(ValidationError) as raised:
        visit(status="done")
    assert "outcome" in fields_of(raised)
    with pytest.raises(ValidationError) as raised:
        visit(status="done", outcome="客户有兴趣")
    assert "intention" in fields_of(raised)
    assert visit(status="done", outcome="客户有兴趣", intention="high").status == "done"


def test_a_future_visit_cannot_be_done_FSS_3_2_4(db):
    with pytest.raises(ValidationError):
        visit(status="done", outcome="x", intention="low", planned_at=utcnow() + dt.timedelta(days=2))


def test_negotiation_minutes_record_agreed_points_and_next_actions_FSS_3_3_4(db):
    with pytest.raises(ValidationError) as raised:
        Negotiation(customer=customer(), owner=person("sales_rep"), held_on=local_today(), participants="双方",
                    proposal="方案", owner_unit=unit("BR-SALES")).save()
    assert {"consensus", "next_actions"} <= fields_of(raised)


def test_negotiation_during_a_visit_is_with_that_visits_customer_FSS_3_3_1(db):
    other = customer("另一家公司")
    with pytest.raises(ValidationError) as raised:
        Negotiation(customer=other, visit=visit(), owner=person("sales_rep"), held_on=local_today(),
                    participants="双方", proposal="方案", consensus="无", next_actions="再约",
                    owner_unit=unit("BR-SALES")).save()
    assert "visit" in fields_of(raised)


# ---- return visits (BRD 5(3)) -----------------------------------------------------------------------------------
def return_visit(**fields) -> ReturnVisit:
    fields.setdefault("planned_on", local_today())
    return ReturnVisit(customer=fields.pop("customer", None) or customer(), owner=person("service_clerk"),
                       owner_unit=unit("BR-CS"), **fields).save()


def test_a_return_visit_done_records_its_findings_BRD_5_3_1(db):
    with pytest.raises(ValidationError) as raised:
        return_visit(status="done")
    assert "findings" in fields_of(raised)
    done = return_visit(status="done", findings="使用正常，建议增加颜色")
    assert done.done_on == local_today()


def test_forwarded_issues_are_followed_to_closure_BRD_5_3_3(db):
    item = return_visit(status="done", findings="包装易破", forwarded_to=unit("BR-OPS"))
    assert item.follow_up_state == "open"
    item.follow_up_state = "resolved"
    with pytest.raises(ValidationError) as raised:
        item.save()
    assert "follow_up" in fields_of(raised)


def test_return_visit_completion_rate_BRD_5_3_1(db):
    day = local_today().replace(year=2031, month=3, day=10)
    for status in ("planned", "planned", "cancelled"):
        return_visit(planned_on=day, status=status)
    return_visit(planned_on=day, status="done", findings="正常", done_on=local_today())
    rate = customers.return_visit_rate([unit("BR-CS").pk], day.replace(day=1), day.replace(day=31))
    assert rate == {"planned": 3, "done": 1, "rate": 33}


def test_visits_and_return_visits_due_are_reminded_BRD_5_3_1(db):
    due = return_visit(planned_on=local_today() - dt.timedelta(days=1))
    upcoming = visit(planned_at=utcnow() + dt.timedelta(hours=3))
    later = return_visit(planned_on=local_today() + dt.timedelta(days=10))
    sent = customers.visit_reminders(utcnow())
    assert {s.kind for s in sent} >= {"visit_due", "return_visit_due"}
    assert ReturnVisit.objects(pk=due.pk).first().reminded_at is not None
    assert CustomerVisit.objects(pk=upcoming.pk).first().reminded_at is not None
    assert ReturnVisit.objects(pk=later.pk).first().reminded_at is None
    assert not customers.visit_reminders(utcnow())  # once


# ---- surveys (BRD 5(4), SOC 7.2) ----------------------------------------------------------------------------------
def survey(questions=("产品质量", "交货及时")) -> SatisfactionSurvey:
    return SatisfactionSurvey(title="季度满意度调查", period_start=local_today(), period_end=local_today(),
                              questions=list(questions), owner_unit=unit("BR-CS")).save()


def response(of, who, *scores) -> SurveyResponse:
    return SurveyResponse(survey=of, customer=who, answered_on=local_today(),
                          scores=[Score(question=q, score=n)
                                  for q, n in zip(of.questions, scores, strict=False)]).save()


def test_a_response_scores_every_question_of_its_survey_BRD_5_4_1(db):
    asked = survey()
    with pytest.raises(ValidationError) as raised:
        response(asked, customer(), 5)
    assert "scores" in fields_of(raised)
    bad = SurveyResponse(survey=asked, customer=customer("乙方公司"), answered_on=local_today(),
                         scores=[Score(question="产品质量", score=5), Score(question="不相干", score=3)])
    with pytest.raises(ValidationError, match="不相干"):
        bad.save()


def test_scores_are_from_1_to_5_SOC_7_2(db):
    with pytest.raises(ValidationError):
        response(survey(), customer(), 6, 0)


def test_a_customer_answers_a_survey_once_SOC_7_2(db):
    asked, who = survey(), customer()
    response(asked, who, 5, 4)
    with pytest.raises(ValidationError) as raised:
        response(asked, who, 3, 3)
    assert "customer" in fields_of(raised)


def test_questions_cannot_change_once_answered_BRD_5_4_3(db):
    asked = survey()
    asked.questions = ["产品质量", "交货及时", "新问题"]
    asked.save()  # nobody answered yet
    response(asked, customer(), 5, 4, 3)
    asked.questions = ["产品质量"]
    with pytest.raises(ValidationError) as raised:
        asked.save()
    assert "questions" in fields_of(raised)


def test_survey_analysis_gives_average_and_distribution_per_question_BRD_5_4_3(db):
    asked = survey()
    response(asked, customer("甲"), 5, 2)
    response(asked, customer("乙"), 4, 2)
    response(asked, customer("丙"), 5, 5)
    result = customers.survey_analysis(asked)
    quality, delivery = result["questions"]
    assert result["responses"] == 3
    assert quality["distribution"] == [0, 0, 0, 1, 2] and quality["average"] == pytest.approx(14 / 3)
    assert delivery["distribution"] == [0, 2, 0, 0, 1] and delivery["average"] == pytest.approx(3.0)


def test_an_improvement_measure_done_states_its_effect_BRD_5_4_3(db):
    asked = survey()
    asked.measures = [Measure(problem="交货慢", measure="更换物流", state="done")]
    with pytest.raises(ValidationError) as raised:
        asked.save()
    assert "measures" in fields_of(raised)


# ---- the customer's timeline (DSC 7(1)1) -------------------------------------------------------------------------
def test_customer_timeline_shows_every_contact_newest_first_DSC_7_1_1(db):
    who = customer()
    now = utcnow()
    Inquiry(customer=who, content="价格？", received_at=now - dt.timedelta(days=5), owner_unit=unit("BR-CS")).save()
    complaint(customer=who, received_at=now - dt.timedelta(days=1))
    visit(customer=who, planned_at=now - dt.timedelta(days=3))
    return_visit(customer=who, planned_on=local_today() - dt.timedelta(days=2))
    response(survey(), who, 4, 5)
    kinds = [entry["source"].document.__name__ for entry in customers.timeline(who.pk)]
    assert kinds == ["SurveyResponse", "Complaint", "ReturnVisit", "CustomerVisit", "Inquiry"]


def test_a_closed_complaint_is_read_only_until_reopened_SOC_7_3(db):
    item = complaint()
    customers.answer(item.pk, actor("service_clerk"), "已处理")
    customers.close(item.pk, actor("service_clerk"), "satisfied")
    closed = Complaint.objects(pk=item.pk).first()
    with pytest.raises(ValidationError, match="read-only"):
        customers.check_editable(closed, frozenset({"Clerk"}))
    customers.check_editable(closed, frozenset({"Admin"}))  # Admin may still correct it
