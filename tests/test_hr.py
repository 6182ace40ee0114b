"""Rules of DOMAIN 3.7 (recruitment, the hire, onboarding, compensation, awards, career plans, employees' feedback),
one test per rule, named after its clause."""

import datetime as dt
import itertools
import threading
from decimal import Decimal

import pytest
from mongoengine import ValidationError

from models.approvals import Notification
from models.audit import AuditEntry
from models.confidentiality import ConfidentialityAgreement
from models.hr import (
    Award,
    Candidate,
    CareerPlan,
    CompensationProfile,
    EmployeeFeedback,
    Interview,
    Onboarding,
    PlanLine,
    RecruitmentPlan,
)
from models.org import Employee, Position
from models.settings import DEFAULTS, Setting
from models.users import PortalUser
from portal import approvals, hr, reminders
from portal.approvals import Refused
from portal.settings import local_today
from tests.approvals_kit import actor, fields_of, person, unit

_serial = itertools.count(1)


def serial() -> int:
    return next(_serial)


def set_setting(key: str, value: str) -> None:
    row = Setting.objects(key=key).first() or Setting(key=key, kind=DEFAULTS[key][0])
    row.value = value
    row.save()


def plan(code: str = "BR-SALES", status: str = "draft", **fields) -> RecruitmentPlan:
    today = local_today()
    values = {"title": "补充销售人员", "owner_unit": unit(code), "channels": ["job_sites"], "start": today,
              "end": today + dt.timedelta(days=60), "status": status,
              "lines": [PlanLine(title="销售代表", headcount=2, requirements="一年以上销售经验")], **fields}
    return RecruitmentPlan(**values).save()


def interview(days_ago: int = 1, score: int = 80) -> Interview:
    return Interview(date=local_today() - dt.timedelta(days=days_ago), interviewer=person("sales_head"), round=1,
                     score=score)


def candidate(decision: str = "pending", code: str = "BR-SALES", **fields) -> Candidate:
    n = serial()
    values = {"name": f"候选人{n}", "email": f"candidate{n}@example.cn", "owner_unit": unit(code),
              "position_title": "销售代表", "channel": "job_sites", "screening": "pass", "interviews": [interview()],
              "decision": decision, **fields}
    return Candidate(**values).save()


def hire_data(**fields) -> dict:
    n = serial()
    return {"employee_no": f"H{n:05d}", "unit": str(unit("BR-SALES").pk), "position": "", "manager": "",
            "hire_date": local_today().isoformat(), "staff_kind": "sales", "username": f"newhire{n}",
            "email": f"newhire{n}@example.cn", **fields}


def reload(document):
    return type(document).objects(pk=document.pk).first()


# ---- recruitment plans (DSC 4(1)1, SOC 4.1) -----------------------------------------------------------------------
def test_a_recruitment_plan_states_openings_headcount_requirements_and_channels_DSC_4_1_1(db):
    with pytest.raises(ValidationError) as raised:
        plan(lines=[])
    assert fields_of(raised) == {"lines"}
    with pytest.raises(ValidationError) as raised:
        plan(lines=[PlanLine(headcount=1)])
    assert fields_of(raised) == {"lines"}  # a post or a title
    with pytest.raises(ValidationError) as raised:
        plan(lines=[PlanLine(title="销售代表", headcount=0)])
    assert fields_of(raised) == {"lines"}
    with pytest.raises(ValidationError) as raised:
        plan(channels=[])
    assert fields_of(raised) == {"channels"}
    with pytest.raises(ValidationError) as raised:
        plan(end=local_today() - dt.timedelta(days=1))
    assert fields_of(raised) == {"end"}
    made = plan(channels=["campus", "campus", "referral"], budget=Decimal("8000"),
                lines=[PlanLine(title="销售代表", headcount=2), PlanLine(title="客服专员", headcount=3)])
    assert (made.number.startswith("ZP-"), made.headcount, made.channels) == (True, 5, ["campus", "referral"])


def test_a_recruitment_plan_is_approved_by_the_head_of_its_unit_DSC_4_1_1(db):
    draft = plan(requested_by=person("sales_clerk"))
    request_id = approvals.submit(draft, actor("sales_clerk"))
    raw = approvals.load(request_id)
    assert [s["approver_name"] for s in raw["steps"]] == ["张伟"]  # the head of 销售部
    with pytest.raises(Refused):
        approvals.decide(request_id, actor("service_head"), "approve")
    approvals.decide(request_id, actor("sales_head"), "approve")
    assert reload(draft).status == "approved"


def test_a_plan_shows_the_candidates_hired_against_each_opening_SOC_4_1(db):
    post = Position.objects(name="销售代表").first()
    approved = plan(status="approved", lines=[PlanLine(position=post, headcount=3), PlanLine(title="大客户经理")])
    candidate("hired", plan=approved, position=post, position_title=None)
    candidate("offer", plan=approved, position=post, position_title=None)
    candidate("pending", plan=approved, position_title="大客户经理")
    candidate("rejected", plan=approved, position_title="大客户经理")  # out of the process: not counted
    candidate("pending", plan=approved, position_title="仓库管理员")  # applied for no opening of the plan
    rows = hr.plan_progress(approved)
    assert [(r["headcount"], r["hired"], r["open"]) for r in rows] == [(3, 1, 1), (1, 0, 1), (0, 0, 1), (4, 1, 3)]
    assert rows[2]["label"] is None and rows[-1]["label"] == "total"


# ---- candidates (SOC 4.1, DSC 4(1)2) ------------------------------------------------------------------------------
def test_a_candidate_applies_for_a_post_through_an_approved_plan_of_its_unit_DSC_4_1_2(db):
    with pytest.raises(ValidationError) as raised:
        candidate(position_title="")
    assert fields_of(raised) == {"position"}
    with pytest.raises(ValidationError) as raised:
        candidate(plan=plan(status="draft"))
    assert fields_of(raised) == {"plan"}
    with pytest.raises(ValidationError) as raised:
        candidate(test_score=101)
    assert fields_of(raised) == {"test_score"}
    with pytest.raises(ValidationError) as raised:
        candidate(interviews=[Interview(date=local_today() + dt.timedelta(days=3), interviewer=person("sales_head"),
                                        score=70)])
    assert fields_of(raised) == {"interviews"}  # scored before it took place
    placed = candidate(code="BR-CS", plan=plan("BR-SALES", status="approved"))
    assert placed.owner_unit.code == "BR-SALES" and placed.number.startswith("YP-")


def test_an_offer_needs_a_passed_screening_and_an_interview_held_SOC_4_1(db):
    head = actor("sales_head")
    for unready in (candidate(screening=None), candidate(screening="fail"), candidate(interviews=[]),
                    candidate(interviews=[Interview(date=local_today() + dt.timedelta(days=2),
                                                    interviewer=person("sales_head"))])):
        with pytest.raises(Refused):
            hr.offer(unready, head)
        assert reload(unready).decision == "pending"
    ready = candidate()
    after = hr.offer(ready, head, "月薪 6000 元")
    assert after["decision"] == "offer" and reload(ready).decided_by == "张伟"
    with pytest.raises(Refused):
        hr.offer(reload(ready), head)  # once
    assert AuditEntry.objects(collection="candidates", record_id=str(ready.pk), action="update",
                              changes__field="decision").count() == 1


def test_a_rejection_needs_a_reason_and_closes_the_candidate_SOC_4_1(db):
    person_ = candidate("offer")
    with pytest.raises(Refused):
        hr.reject(person_, actor("hr"), "  ")
    assert reload(person_).decision == "offer"
    hr.reject(person_, actor("hr"), "薪资期望过高")
    assert (reload(person_).decision, reload(person_).decision_reason) == ("rejected", "薪资期望过高")
    with pytest.raises(Refused):
        hr.withdraw(reload(person_), actor("hr"))
    with pytest.raises(Refused):
        hr.hire(person_.pk, actor("hr"), hire_data(), None)


# ---- the hire (SOC 4.1) -------------------------------------------------------------------------------------------
def test_hiring_creates_exactly_one_employee_and_one_login_with_the_employee_role_SOC_4_1(app, db):
    offered = candidate("offer", phone="13800001111")
    data = hire_data(manager="")
    with app.app_context():
        hired = hr.hire(offered.pk, actor("hr"), data, app.appbuilder.sm)
    employee = Employee.objects(employee_no=data["employee_no"]).get()
    assert (employee.name, employee.status, employee.staff_kind, employee.phone) == (offered.name, "probation",
                                                                                    "sales", "13800001111")
    assert employee.manager.pk == person("sales_head").pk  # the head of the unit when no manager is chosen
    logins = list(PortalUser.objects(employee=employee.pk))
    assert len(logins) == 1 and [r.name for r in logins[0].roles] == ["Employee"]
    assert logins[0].username == data["username"] and logins[0].password_changed_at is None
    assert Onboarding.objects(employee=employee.pk).count() == 1 and hired.onboarding.hire_date == local_today()
    stored = reload(offered)
    assert (stored.decision, stored.employee.pk, stored.hiring_since) == ("hired", employee.pk, None)
    assert Notification.objects(kind="new_hire", recipient=person("sales_head").pk,
                                link__contains=str(employee.pk)).count() == 1
    with pytest.raises(Refused), app.app_context():  # a second click
        hr.hire(offered.pk, actor("hr"), hire_data(), app.appbuilder.sm)
    assert Employee.objects(name=offered.name).count() == 1


def test_four_concurrent_hires_of_one_candidate_make_one_employee_and_one_login_SOC_4_1(app, db):
    offered = candidate("offer")
    barrier = threading.Barrier(4)
    outcomes = []

    def click(data):
        with app.app_context():
            barrier.wait()
            try:
                hr.hire(offered.pk, actor("hr"), data, app.appbuilder.sm)
                outcomes.append("hired")
            except Refused:
                outcomes.append("refused")

    attempts = [hire_data() for _ in range(4)]
    threads = [threading.Thread(target=click, args=(data,)) for data in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["hired", "refused", "refused", "refused"]
    numbers = [data["employee_no"] for data in attempts]
    assert Employee.objects(employee_no__in=numbers).count() == 1
    assert PortalUser.objects(username__in=[data["username"] for data in attempts]).count() == 1
    assert Onboarding.objects(candidate=offered.pk).count() == 1 and reload(offered).decision == "hired"


class FailingAccounts:
    """A security manager whose login creation fails, as when the user name is taken at the last moment."""

    def __init__(self, sm):
        self.sm = sm

    def find_role(self, name):
        return self.sm.find_role(name)

    def add_user(self, *args, **kwargs):
        return False


def test_a_failed_login_leaves_nothing_half_written_and_the_candidate_can_be_hired_again_SOC_4_1(app, db):
    offered = candidate("offer")
    data = hire_data()
    with app.app_context(), pytest.raises(hr.HireRefused) as raised:
        hr.hire(offered.pk, actor("hr"), data, FailingAccounts(app.appbuilder.sm))
    assert raised.value.field == "username"
    assert Employee.objects(employee_no=data["employee_no"]).count() == 0
    assert Onboarding.objects(candidate=offered.pk).count() == 0
    assert (reload(offered).decision, reload(offered).employee) == ("offer", None)  # the claim is released
    with app.app_context():
        hr.hire(offered.pk, actor("hr"), data, app.appbuilder.sm)
    assert Employee.objects(employee_no=data["employee_no"]).count() == 1


def test_a_taken_number_user_name_or_address_is_refused_next_to_its_field_SOC_4_1(app, db):
    offered = candidate("offer")
    for field, value in (("employee_no", "E0011"), ("username", "Sales_Rep"), ("email", "sales_rep@demo.example"),
                         ("username", "a b"), ("unit", ""), ("staff_kind", "agent"), ("hire_date", "31/12/2026"),
                         ("manager", "0" * 24)):
        with app.app_context(), pytest.raises(hr.HireRefused) as raised:
            hr.hire(offered.pk, actor("hr"), hire_data(**{field: value}), app.appbuilder.sm)
        assert raised.value.field == field, (field, value)
    assert reload(offered).decision == "offer" and reload(offered).employee is None


def test_a_hire_that_died_half_way_can_be_taken_over_after_ten_minutes_SOC_4_1(app, db):
    now = reminders.utcnow()
    busy = candidate("hiring", hiring_since=now - dt.timedelta(minutes=2))
    with app.app_context(), pytest.raises(Refused):
        hr.hire(busy.pk, actor("hr"), hire_data(), app.appbuilder.sm)  # someone is hiring right now
    stale = candidate("hiring", hiring_since=now - dt.timedelta(minutes=20))
    with app.app_context():
        hired = hr.hire(stale.pk, actor("hr"), hire_data(), app.appbuilder.sm)
    assert reload(stale).decision == "hired" and reload(stale).employee.pk == hired.employee.pk


def test_the_initial_password_is_shown_once_and_never_stored_in_plain_text_SOC_4_1(app, db):
    offered = candidate("offer")
    with app.app_context():
        hired = hr.hire(offered.pk, actor("hr"), hire_data(), app.appbuilder.sm)
        assert app.appbuilder.sm.auth_user_db(hired.username, hired.password) is not None
    assert len(hired.password) == 17 and hired.password.count("-") == 2
    database = PortalUser._get_collection().database
    for name in database.list_collection_names():
        for raw in database[name].find():
            assert hired.password not in str(raw), name
    assert hr.initial_password() != hr.initial_password()


# ---- onboarding (SOC 4.1, DSC 4(1)3) ------------------------------------------------------------------------------
def new_hire(username: str = "finance", days_ago: int = 0, **fields) -> Onboarding:
    return Onboarding(employee=person(username), hire_date=local_today() - dt.timedelta(days=days_ago),
                      **fields).save()


def test_onboarding_is_complete_when_contract_handbook_training_and_agreement_are_done_SOC_4_1(db):
    day = local_today()
    with pytest.raises(ValidationError) as raised:
        new_hire(contract_signed_on=day)
    assert fields_of(raised) == {"contract_term_months"}
    checklist = new_hire("auditor", contract_signed_on=dt.date(2026, 1, 31), contract_term_months=1,
                         handbook_issued_on=day, training_done_on=day)
    assert checklist.contract_ends_on == dt.date(2026, 2, 27) and checklist.items_done is True
    hr.attach_status([checklist])
    assert checklist.status == "incomplete" and [str(m) for m in hr.missing(checklist)] == [
        "the confidentiality agreement"]
    ConfidentialityAgreement(employee=person("auditor"), signed_on=day, term_months=24, scope="客户资料",
                             penalty_clause="赔偿损失").save()
    hr.attach_status([checklist])
    assert checklist.status == "complete" and hr.missing(checklist) == []
    with pytest.raises(ValidationError) as raised:
        new_hire("auditor")
    assert fields_of(raised) == {"employee"}  # one checklist per employee


def test_hr_is_told_once_of_an_onboarding_still_incomplete_after_the_set_days_SOC_4_1(db):
    late = new_hire("finance", days_ago=8)
    new_hire("legal", days_ago=3)  # within the seven days
    sent = [s for s in hr.onboarding_reminders(reminders.utcnow()) if s.title == "黄磊"]
    assert len(sent) == 1 and sent[0].kind == "onboarding_incomplete"
    told = {n.recipient for n in Notification.objects(kind="onboarding_incomplete", link__contains=str(late.pk))}
    assert told == {person("hr").pk}
    assert not [s for s in hr.onboarding_reminders(reminders.utcnow()) if s.title in ("黄磊", "周婷")]  # once
    set_setting("onboarding_reminder_days", "2")  # Admin shortens the wait
    assert [s.title for s in hr.onboarding_reminders(reminders.utcnow()) if s.title == "周婷"] == ["周婷"]


# ---- compensation (DSC 4(3)) --------------------------------------------------------------------------------------
def test_each_employee_has_one_compensation_profile_with_pay_and_benefits_DSC_4_3_1(db):
    newcomer = Employee(employee_no=f"C{serial():05d}", name="钱多多", owner_unit=unit("BR-OPS")).save()
    profile = CompensationProfile(employee=newcomer, base_salary=Decimal("7200.50"),
                                  performance_pay_base=Decimal("1800"), bonus=Decimal("12000"),
                                  effective_from=local_today(), social_insurance=True, housing_fund=False).save()
    stored = CompensationProfile._get_collection().find_one({"_id": profile.pk})
    assert (stored["base_salary"], stored["owner_unit"], stored["housing_fund"]) == (720050, unit("BR-OPS").pk, False)
    with pytest.raises(ValidationError) as raised:
        CompensationProfile(employee=newcomer, base_salary=Decimal("1"), effective_from=local_today()).save()
    assert fields_of(raised) == {"employee"}
    assert str(profile) == "钱多多"  # what the audit log shows as its label: never an amount


# ---- awards (SOC 5.2, DSC 4(4)1) ----------------------------------------------------------------------------------
def test_an_award_names_its_honour_period_and_reason_SOC_5_2(db):
    base = {"employee": person("service_clerk"), "period_kind": "quarter", "awarded_on": local_today(),
            "reason": "季度满意度第一", "bonus": Decimal("800")}
    for fields, wrong in (({"title": "other"}, "other_title"), ({"title": "service_star", "period": "2026-Q5"},
                                                                "period"),
                          ({"title": "outstanding_team", "employee": None}, "team"),
                          ({"title": "service_star", "reason": " "}, "reason")):
        with pytest.raises(ValidationError) as raised:
            Award(**{**base, "period": "2026-Q2", **fields}).save()
        assert fields_of(raised) == {wrong}
    star = Award(**base, title="service_star", period="2026-q2").save()
    team = Award(**{**base, "employee": None}, title="outstanding_team", team=unit("BR-CS"), period="2026-Q2").save()
    assert (star.period, star.owner_unit.code, team.owner_unit.code) == ("2026-Q2", "BR-CS", "BR-CS")
    assert str(star) == "Service star 2026-Q2" and "800" not in str(star)
    mine = [row["_id"] for row in hr.my_awards(person("service_clerk").pk)]
    assert star.pk in mine and team.pk in mine  # their own, and their team's


# ---- career plans (BRD 7(5)) --------------------------------------------------------------------------------------
def career(username: str = "service_clerk", **fields) -> CareerPlan:
    values = {"employee": person(username), "goals": "三年内成为客服主管", "review_date": local_today(),
              "opportunities": ["training", "promotion"], **fields}
    return CareerPlan(**values).save()


def test_a_career_plan_sets_goals_path_and_opportunities_and_the_employee_writes_their_goals_BRD_7_5_1(db):
    with pytest.raises(ValidationError) as raised:
        career(goals=" ")
    assert fields_of(raised) == {"goals"}
    with pytest.raises(ValidationError) as raised:
        career(mentor=person("service_clerk"))
    assert fields_of(raised) == {"mentor"}
    made = career(mentor=person("service_head"), opportunities=["rotation", "rotation", "training"])
    assert made.opportunities == ["rotation", "training"] and made.owner_unit.code == "BR-CS"
    with pytest.raises(ValidationError) as raised:
        career()
    assert fields_of(raised) == {"employee"}  # one plan per employee
    with pytest.raises(Refused):
        hr.update_goals(made, actor("service_head"), "由经理代写")
    hr.update_goals(made, actor("service_clerk"), "两年内考取客服主管资格")
    assert reload(made).goals == "两年内考取客服主管资格"
    entry = AuditEntry.objects(collection="career_plans", record_id=str(made.pk), action="update",
                               changes__field="goals").get()
    assert entry.note == "by service_clerk" and entry.changes[0].new == "两年内考取客服主管资格"


def test_a_career_plan_past_its_review_date_is_reminded_once_to_the_manager_BRD_7_5_2(db):
    due = career(review_date=local_today() - dt.timedelta(days=1))
    career("finance", review_date=local_today() + dt.timedelta(days=5))
    sent = [s for s in hr.career_reminders(reminders.utcnow()) if s.title in ("杨丽", "黄磊")]
    assert [s.title for s in sent] == ["杨丽"]
    told = {n.recipient for n in Notification.objects(kind="career_review_due", link__contains=str(due.pk))}
    assert told == {person("service_head").pk}  # the clerk's manager
    assert not [s for s in hr.career_reminders(reminders.utcnow()) if s.title == "杨丽"]  # once
    due = reload(due)
    due.review_date = local_today() + dt.timedelta(days=30)  # reviewed: the next date is set
    due.save()
    assert reload(due).review_reminded is False  # the next review is reminded again when it is due


# ---- employees' feedback (DSC 4(4)2) ------------------------------------------------------------------------------
def test_anonymous_feedback_names_nobody_in_its_stamps_or_audit_entry_DSC_4_4_2(app, db):
    from flask import g

    user = PortalUser.objects(username="sales_clerk").first()
    with app.test_request_context("/"):
        g.user = user  # as if sales_clerk submitted it through the portal
        sent = EmployeeFeedback(topic="management", content="希望公开调休规则", anonymous=True,
                                employee=person("sales_clerk")).save()
        named = EmployeeFeedback(topic="work", content="系统太慢", employee=person("sales_clerk")).save()
    raw = EmployeeFeedback._get_collection().find_one({"_id": sent.pk})
    assert raw.get("employee") is None and (raw["created_by"], raw["updated_by"]) == ("anonymous", "anonymous")
    assert AuditEntry.objects(collection="employee_feedback", record_id=str(sent.pk)).get().user == "anonymous"
    assert AuditEntry.objects(collection="employee_feedback", record_id=str(named.pk)).get().user == "sales_clerk"
    hr.reply_feedback(sent, actor("hr"), "下月起公布调休规则")
    stored = reload(sent)
    assert (stored.status, stored.updated_by, stored.handler.pk) == ("answered", "hr", person("hr").pk)


def test_hr_answers_feedback_and_a_named_submitter_is_told_DSC_4_4_2(db):
    named = EmployeeFeedback(topic="difficulty", content="班车太早", employee=person("service_clerk")).save()
    hr.feedback_received(named)
    assert Notification.objects(kind="feedback_received", recipient=person("hr").pk,
                                link__contains=str(named.pk)).count() == 1
    hr.take_feedback(named, actor("hr"))
    with pytest.raises(Refused):
        hr.take_feedback(reload(named), actor("hr"))
    with pytest.raises(Refused):
        hr.reply_feedback(reload(named), actor("hr"), "")
    hr.reply_feedback(reload(named), actor("hr"), "班车下月起推迟半小时")
    assert Notification.objects(kind="feedback_answered", recipient=person("service_clerk").pk,
                                link__contains=str(named.pk)).count() == 1
    hr.close_feedback(reload(named), actor("hr"))
    with pytest.raises(Refused):
        hr.reply_feedback(reload(named), actor("hr"), "补充")
    assert [row["reply"] for row in hr.my_feedback(person("service_clerk").pk) if row["_id"] == named.pk] == [
        "班车下月起推迟半小时"]


# ---- review of issue 7: what the trail keeps, and a hire taken over after a crash --------------------------------
def audited(document, field: str) -> list[str]:
    return [c.new for e in AuditEntry.objects(record_id=str(document.pk)).order_by("at") for c in e.changes
            if c.field == field]


def test_every_reply_to_feedback_is_kept_in_the_audit_trail_DSC_4_4_2(db):
    named = EmployeeFeedback(topic="difficulty", content="打印机经常卡纸", employee=person("service_clerk")).save()
    stale = reload(named)
    hr.reply_feedback(reload(named), actor("hr"), "已报修")
    with pytest.raises(Refused, match="Someone replied a moment ago"):  # written over a reply it never saw
        hr.reply_feedback(stale, actor("hr"), "下周更换")
    hr.reply_feedback(reload(named), actor("hr"), "下周更换新打印机")
    assert reload(named).reply == "下周更换新打印机"
    assert audited(named, "reply") == ["已报修", "下周更换新打印机"]  # the first reply is not lost
    hr.close_feedback(reload(named), actor("hr"))
    with pytest.raises(Refused, match="Closed feedback"):
        hr.reply_feedback(reload(named), actor("hr"), "补充")


def test_the_reason_of_a_candidates_decision_is_kept_in_the_audit_trail_SOC_4_1(db):
    offered = candidate()
    hr.offer(offered, actor("hr"), "月薪 8000 元，试用期三个月")
    hr.reject(reload(offered), actor("hr"), "背景调查未通过")
    assert audited(offered, "decision_reason") == ["月薪 8000 元，试用期三个月", "背景调查未通过"]
    assert audited(offered, "decision") == ["pending", "offer", "rejected"]  # created, then decided


def crashed_hire(app, offered: Candidate, data: dict, minutes_ago: int = 20) -> Employee:
    """A hire that claimed the candidate, saved the employee and the login, and died before finishing."""
    then = reminders.utcnow() - dt.timedelta(minutes=minutes_ago)
    hr._claim(offered.pk, actor("hr"), then)
    employee = Employee(employee_no=data["employee_no"], name=offered.name, email=data["email"],
                        owner_unit=unit("BR-SALES"), status="probation", staff_kind="sales",
                        hire_date=local_today()).save()
    hr._link_employee(offered.pk, employee.pk, then)
    with app.app_context():
        user = app.appbuilder.sm.add_user(data["username"], "浩", "孙", data["email"],
                                          [app.appbuilder.sm.find_role("Employee")], "Initial-12345")
    user.employee = employee
    user.save()
    return employee


def test_a_hire_taken_over_after_a_crash_makes_one_employee_and_one_login_SOC_4_1(app, db):
    offered = candidate("offer")
    data = hire_data()
    dead = crashed_hire(app, offered, data)
    assert reload(offered).employee.pk == dead.pk  # named on the candidate as soon as it was saved
    with app.app_context():
        hired = hr.hire(offered.pk, actor("hr"), data, app.appbuilder.sm)  # the same number and user name again
    assert Employee.objects(employee_no=data["employee_no"]).count() == 1 and Employee.objects(pk=dead.pk).count() == 0
    assert [u.employee.pk for u in PortalUser.objects(username=data["username"])] == [hired.employee.pk]
    assert (reload(offered).decision, reload(offered).employee.pk) == ("hired", hired.employee.pk)
    assert Onboarding.objects(candidate=offered.pk).count() == 1


def test_a_crashed_hires_employee_in_use_by_now_is_not_hired_twice_SOC_4_1(app, db):
    from models.training import TrainingNeed

    offered = candidate("offer")
    dead = crashed_hire(app, offered, hire_data())
    TrainingNeed(employee=dead, topic="入职培训").save()  # someone already works with the record
    for _attempt in range(2):
        with app.app_context(), pytest.raises(Refused, match="finish that hire by hand"):
            hr.hire(offered.pk, actor("hr"), hire_data(), app.appbuilder.sm)
        assert (reload(offered).decision, reload(offered).employee.pk) == ("offer", dead.pk)
    assert Employee.objects(name=offered.name).count() == 1
