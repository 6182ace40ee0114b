"""Training screens as their users work them: HR's plan-to-board journey, the attendance and scores sheets with
their refusals in place, feedback only from attendees (also by a crafted POST), certificates, "My trainings",
scope, every page rendering, the lists' round-trip budgets and the board's fixed number of queries."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from models.org import Employee
from models.training import (
    AttendanceMark,
    TrainingAssessment,
    TrainingFeedback,
    TrainingNeed,
    TrainingPlan,
    TrainingSession,
)
from portal import training
from portal.settings import to_local
from tests.approvals_kit import actor, person, unit
from tests.conftest import data_round_trips
from tests.test_training import held, moment, plan, scores, session

FORM = "/resetmypassword/form"  # a page with a CSRF token for people whose record pages have no form
YEAR = to_local(moment(-1)).year  # the year of "yesterday", when the test sessions are held


def text(response) -> str:
    return response.data.decode()


def post(browser, url: str, data: dict | None = None):
    """POST with a valid CSRF token, as a crafted request would."""
    return browser.post(url, {**(data or {}), "csrf_token": browser.token(FORM)})


def board_row(page: str, kind: str, pk) -> dict:
    """The data attributes of one plan or session row of the board."""
    match = re.search(rf'<tr data-{kind}="{pk}"([^>]*)>', page)
    assert match, f"no {kind} row {pk} on the board"
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', match.group(1)))


def service_staff() -> list[Employee]:
    """客户服务部's clerk and three of its staff."""
    return [person("service_clerk"), *Employee.objects(owner_unit=unit("BR-CS"), employee_no__startswith="E01")
            .order_by("employee_no").limit(3)]


# ---- the journey: plan, approval, session, attendance, scores, board (BRD 7(2)-7(4), FSS 5(4)) -------------
def test_hr_plans_holds_a_session_for_five_marks_attendance_enters_scores_and_sees_the_board(as_role, db):
    hr = as_role("HR")
    need = training.raise_need(person("service_clerk"), "投诉处理沟通技巧", source="questionnaire")
    response = hr.post_form("/training-plans/add", {
        "year": str(YEAR), "owner_unit": str(unit("BR-CS").pk), "title": "客户服务部年度培训计划",
        "goals": "投诉一次解决率提升到 90%", "needs": [str(need.pk)],
        "courses-0-topic": "投诉处理沟通技巧", "courses-0-content": "倾听、安抚、解决方案与跟进",
        "courses-0-method": "internal",
        "courses-0-kind": "customer_service", "courses-0-month": "11", "courses-0-trainer": "刘芳",
        "courses-0-budget": "2500.00", "courses-0-participants": "5",
        "courses-1-topic": "团队管理基础", "courses-1-content": "排班与绩效面谈", "courses-1-method": "external",
        "courses-1-kind": "team_management", "courses-1-month": "12", "courses-1-budget": "6000",
        "courses-1-participants": "2"})
    assert response.status_code == 302, text(response)[:3000]
    item = TrainingPlan.objects(owner_unit=unit("BR-CS"), year=YEAR).first()
    assert item.budget_total == Decimal("8500.00") and item.requested_by.pk == person("hr").pk
    show = f"/training-plans/show/{item.pk}"
    assert hr.post_form(f"/training-plans/submit/{item.pk}", {}, show).status_code == 302
    request_page = f"/approvals/request/{item.reload().approval}"
    for approver in ("service_head", "branch_head"):  # the department head, then the branch leader (BRD 7(2)3)
        browser = as_role(approver)
        assert browser.post_form(f"{request_page}/approve", {"comment": "同意"}, request_page).status_code == 302
    assert item.reload().status == "approved" and TrainingNeed.objects(pk=need.pk).first().status == "planned"
    page = text(hr.get(show))
    assert f"/training-sessions/add?plan={item.pk}&amp;course=1" in page and "投诉处理沟通技巧" in page

    form = text(hr.get(f"/training-sessions/add?plan={item.pk}&course=1"))
    assert "投诉处理沟通技巧" in form and "倾听、安抚、解决方案与跟进" in form  # filled in from the course
    people = [*service_staff(), person("sales_rep")]
    start = to_local(moment(-1))
    response = hr.post_form("/training-sessions/add", {
        "plan": str(item.pk), "course_no": "1", "title": "", "kind": "", "content": "",
        "trainer": str(person("service_head").pk), "start": f"{start:%Y-%m-%d} 09:00",
        "end": f"{start:%Y-%m-%d} 12:00", "place": "分公司二楼会议室", "participants": [str(p.pk) for p in people],
        "assessment_method": "exam", "cost": "1800.00"}, "/training-sessions/add")
    assert response.status_code == 302, text(response)[:3000]
    held_session = TrainingSession.objects(plan=item.pk).first()
    assert (held_session.title, held_session.kind, held_session.owner_unit.code, held_session.headcount) == (
        "投诉处理沟通技巧", "customer_service", "BR-CS", 5)
    board = f"/training-board/?year={YEAR}&unit={unit('BR-CS').pk}"
    before = board_row(text(hr.get(board)), "session", held_session.pk)
    assert (before["participants"], before["attended"], before["attendance-rate"]) == ("5", "0", "")

    sheet = f"/training-sessions/attendance/{held_session.pk}"
    marks = {f"mark-{p.pk}": "present" for p in people}
    marks[f"mark-{people[3].pk}"] = "late"
    marks[f"mark-{people[2].pk}"] = "absent"
    response = hr.post_form(sheet, {**marks, f"note-{people[2].pk}": "病假"})
    assert response.status_code == 302, text(response)[:3000]
    marked = {m.employee.pk: (m.status, m.note) for m in held_session.reload().attendance}
    assert held_session.status == "held" and marked[people[2].pk] == ("absent", "病假")
    assert marked[people[3].pk] == ("late", None) and marked[people[0].pk] == ("present", None)

    scores_sheet = f"/training-sessions/scores/{held_session.pk}"
    page = text(hr.get(scores_sheet))
    assert "Attempt 1" in page and "Not assessed: did not attend." in page
    typed = {f"score-{people[0].pk}": "86", f"score-{people[1].pk}": "58", f"score-{people[3].pk}": "72.5",
             f"score-{people[4].pk}": "91"}
    response = hr.post_form(scores_sheet, typed)
    assert response.status_code == 302, text(response)[:3000]
    retake = TrainingAssessment.objects(session=held_session.pk, employee=people[1].pk, status="retake_open").first()
    assert retake is not None and retake.attempt == 2  # the fail opened a retake
    assert TrainingAssessment.objects(session=held_session.pk, certificate_no__ne=None).count() == 3
    assert "Attempt 2" in text(hr.get(scores_sheet))

    page = text(hr.get(board))
    row = board_row(page, "session", held_session.pk)
    assert (row["participants"], row["attended"], row["attendance-rate"]) == ("5", "4", "80.0")
    assert (row["first-pass-rate"], row["pass-rate"], row["retakes"]) == ("75.0", "75.0", "1")
    plan_row = board_row(page, "plan", item.pk)
    assert (plan_row["courses"], plan_row["courses-held"], plan_row["sessions-held"]) == ("2", "1", "1")
    assert (plan_row["budget"], plan_row["cost"]) == ("8500.00", "1800.00")

    response = hr.post_form(scores_sheet, {f"score-{people[1].pk}": "75"})  # the retake passes
    assert response.status_code == 302
    row = board_row(text(hr.get(board)), "session", held_session.pk)
    assert (row["first-pass-rate"], row["pass-rate"], row["retakes"]) == ("75.0", "100.0", "0")


def test_the_attendance_sheet_answers_an_unmarked_row_on_that_row_and_saves_nothing(as_role, db):
    item = session()
    hr = as_role("HR")
    sheet = f"/training-sessions/attendance/{item.pk}"
    page = text(hr.get(sheet))
    assert page.count('type="radio"') == 3 * 5
    marks = {f"mark-{person(u).pk}": "present" for u in ("sales_rep", "sales_clerk", "service_clerk", "finance")}
    response = hr.post_form(sheet, {**marks, f"note-{person('sales_rep').pk}": "准时"})
    page = text(response)
    assert response.status_code == 422 and "Mark every participant; nothing was saved." in page
    row = re.search(rf'<tr class="danger" data-employee="{person("legal").pk}">.*?</tr>', page, re.S)
    assert row and "Mark present, late or absent." in row.group(0)
    assert 'value="准时"' in page and item.reload().status == "planned"  # what was typed is kept
    ahead = session(days=2)
    response = hr.post_form(f"/training-sessions/attendance/{ahead.pk}", marks)
    assert response.status_code == 422 and "once the session has started" in text(response)


def test_the_scores_sheet_answers_each_bad_cell_on_its_row_and_saves_nothing(as_role, db):
    item = held(marks={"legal": "absent"})
    hr = as_role("HR")
    sheet = f"/training-sessions/scores/{item.pk}"
    response = hr.post_form(sheet, {f"score-{person('sales_rep').pk}": "105",
                                    f"score-{person('sales_clerk').pk}": "八十",
                                    f"score-{person('finance').pk}": "70"})
    page = text(response)
    assert response.status_code == 422 and "Some scores need correcting; nothing was saved." in page
    rep_row = re.search(rf'data-employee="{person("sales_rep").pk}">.*?</tr>', page, re.S).group(0)
    assert "Enter a score between 0 and 100." in rep_row and 'value="105"' in rep_row
    assert "Enter a number." in re.search(rf'data-employee="{person("sales_clerk").pk}">.*?</tr>', page, re.S).group(0)
    assert TrainingAssessment.objects(session=item.pk).count() == 0
    crafted = hr.post_form(sheet, {f"score-{person('legal').pk}": "90", "score-$ne": "1"})
    assert crafted.status_code == 422 and "Only those who attended" in text(crafted)
    assert "Only participants of this session are assessed." in text(crafted)
    planned = session(days=2)
    response = hr.post_form(f"/training-sessions/scores/{planned.pk}", {f"score-{person('sales_rep').pk}": "80"})
    assert response.status_code == 422 and "attendance has been taken" in text(response)


def test_only_hr_takes_attendance_and_enters_scores(as_role, db):
    item = held()
    for role in ("Clerk", "DeptHead", "Employee", "Auditor"):
        browser = as_role(role)
        for url in (f"/training-sessions/attendance/{item.pk}", f"/training-sessions/scores/{item.pk}"):
            response = post(browser, url, {f"score-{person('sales_rep').pk}": "99"})
            assert response.status_code == 302 and "/login/" in response.headers["Location"], (role, url)
    assert TrainingAssessment.objects(session=item.pk).count() == 0


# ---- feedback (BRD 7(4)) ------------------------------------------------------------------------------------
def test_an_attendee_gives_feedback_once_and_a_non_attendee_is_refused_even_by_a_crafted_post(as_role, db):
    item = held(people=("sales_rep", "sales_clerk", "finance"), marks={"finance": "absent"})
    rep = as_role("Employee")
    page = text(rep.get(f"/training-sessions/show/{item.pk}"))
    assert f"/training-feedback/add?session={item.pk}" in page  # "Give feedback"
    assert f"/training-feedback/add?session={item.pk}" in text(rep.get("/training-sessions/mine/"))
    form = text(rep.get(f"/training-feedback/add?session={item.pk}"))
    assert f'<option selected value="{item.pk}">' in form
    data = {"session": str(item.pk), "content_rating": "5", "trainer_rating": "4", "usefulness_rating": "5",
            "comments": "案例很实用"}
    response = rep.post_form("/training-feedback/add", data)
    assert response.status_code == 302, text(response)[:2000]
    mine = TrainingFeedback.objects(session=item.pk, employee=person("sales_rep").pk).first()
    assert mine.owner_unit.code == "BR-SALES" and mine.comments == "案例很实用"
    again = rep.post_form("/training-feedback/add", data)
    assert again.status_code == 200 and "You have already given feedback on this session." in text(again)
    assert f"/training-feedback/add?session={item.pk}" not in text(rep.get(f"/training-sessions/show/{item.pk}"))
    absent = as_role("finance")
    assert f"/training-feedback/add?session={item.pk}" not in text(absent.get(f"/training-sessions/show/{item.pk}"))
    crafted = absent.post_form("/training-feedback/add", data)
    assert crafted.status_code == 200 and TrainingFeedback.objects(employee=person("finance").pk).count() == 0
    assert "Only those who attended the session (present or late) give feedback on it." in text(crafted)
    other = as_role("legal")  # not even a participant, and pretending to be someone else
    crafted = other.post_form("/training-feedback/add", {**data, "employee": str(person("sales_clerk").pk)})
    assert crafted.status_code == 200 and TrainingFeedback.objects(session=item.pk).count() == 1
    bad = as_role("sales_clerk").post_form("/training-feedback/add", {**data, "content_rating": "9"})
    assert bad.status_code == 200 and TrainingFeedback.objects(session=item.pk).count() == 1
    assert "Average feedback 4.7 of 5 from 1 trainees" in text(as_role("HR").get(f"/training-sessions/show/{item.pk}"))


# ---- certificates, my trainings, scope ---------------------------------------------------------------------
def test_the_printable_certificate_is_only_for_a_pass_and_the_employee_sees_their_own(as_role, db):
    item = held()
    scores(item, sales_rep="88", sales_clerk="40")
    passed = TrainingAssessment.objects(session=item.pk, employee=person("sales_rep").pk).first()
    failed = TrainingAssessment.objects(session=item.pk, employee=person("sales_clerk").pk, attempt=1).first()
    rep = as_role("Employee")
    page = text(rep.get(f"/training-assessments/certificate/{passed.pk}"))
    assert passed.certificate_no in page and "孙浩" in page and "合规培训" in page and "88.0" in page
    assert "华信商贸有限公司" in page and "@media print" in page and ".navbar" in page
    assert f"/training-assessments/certificate/{passed.pk}" in text(rep.get(f"/training-assessments/show/{passed.pk}"))
    hr = as_role("HR")
    assert hr.get(f"/training-assessments/certificate/{failed.pk}").status_code == 404
    assert hr.get(f"/training-assessments/certificate/{passed.pk}").status_code == 200
    clerk = as_role("sales_clerk")  # a Clerk of the same unit sees the unit's results, not another's record here
    assert clerk.get(f"/training-assessments/certificate/{failed.pk}").status_code == 404
    assert as_role("finance").get(f"/training-assessments/certificate/{passed.pk}").status_code == 404
    assert as_role("service_clerk").get(f"/training-assessments/show/{passed.pk}").status_code == 404


def test_my_trainings_shows_upcoming_and_past_sessions_results_retakes_and_certificates(as_role, db):
    done = held(marks={"sales_rep": "late"})
    scores(done, sales_rep="45")
    scores(done, sales_rep="77")
    other = held(title="产品知识复训")
    scores(other, sales_rep="30")
    session(days=5, title="下周法律培训")
    page = text(as_role("Employee").get("/training-sessions/mine/"))
    assert "下周法律培训" in page and "产品知识复训" in page and "Late" in page
    assert page.count("#1") >= 2 and "#2" in page
    certificate = TrainingAssessment.objects(session=done.pk, status="passed").first()
    assert certificate.certificate_no in page and f"/training-assessments/certificate/{certificate.pk}" in page
    retakes = re.search(r'class="list-group portal-retakes">(.*?)</ul>', page, re.S).group(1)
    assert "产品知识复训" in retakes and "合规培训" not in retakes


def test_a_session_of_another_unit_or_person_answers_404(as_role, db):
    item = session(people=("sales_rep", "sales_clerk"), owner_unit=unit("BR-SALES"))
    assert as_role("Employee").get(f"/training-sessions/show/{item.pk}").status_code == 200  # a participant
    assert as_role("Clerk").get(f"/training-sessions/show/{item.pk}").status_code == 200  # the unit's clerk
    assert as_role("service_clerk").get(f"/training-sessions/show/{item.pk}").status_code == 404
    assert as_role("finance").get(f"/training-sessions/show/{item.pk}").status_code == 404
    need = training.raise_need(person("sales_rep"), "谈判")
    assert as_role("service_clerk").get(f"/training-needs/show/{need.pk}").status_code == 404
    assert as_role("Clerk").get(f"/training-needs/show/{need.pk}").status_code == 200
    draft = plan(unit_code="BR-SALES", year=2032, status="draft")
    assert as_role("service_head").get(f"/training-plans/show/{draft.pk}").status_code == 404
    assert as_role("DeptHead").get(f"/training-plans/show/{draft.pk}").status_code == 200


def test_a_participant_reads_only_their_own_rows_of_a_session(as_role, db):
    item = held(people=("sales_rep", "finance"))
    scores(item, sales_rep="91", finance="42")
    page = text(as_role("finance").get(f"/training-sessions/show/{item.pk}"))
    assert "42.0" in page and "91.0" not in page  # their own attempt, not the colleague's
    assert "Cancel the session" not in page and "Attendance sheet" not in page
    assert "91.0" in text(as_role("HR").get(f"/training-sessions/show/{item.pk}"))


def test_the_board_shows_a_heads_units_and_the_training_record_of_their_staff(as_role, db):
    item = held(owner_unit=unit("BR-SALES"))
    scores(item, sales_rep="70")
    head = as_role("DeptHead")
    page = text(head.get(f"/training-board/?year={YEAR}"))
    assert str(item.pk) in page and "销售部年度培训计划" in page
    other = text(as_role("service_head").get(f"/training-board/?year={YEAR}"))
    assert str(item.pk) not in other and "销售部年度培训计划" not in other
    record = text(head.get(f"/training-board/employee/{person('sales_rep').pk}"))
    assert "合规培训" in record and "70.0" in record
    assert as_role("service_head").get(f"/training-board/employee/{person('sales_rep').pk}").status_code == 404
    assert f"/training-board/employee/{person('sales_rep').pk}" in text(
        as_role("HR").get(f"/employeeview/show/{person('sales_rep').pk}"))
    found = as_role("HR").get(f"/training-board/person/?employee={person('sales_rep').pk}")
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/employee/{person('sales_rep').pk}")
    assert as_role("Employee").get("/training-board/").status_code == 302  # not an employee's page
    bad = text(as_role("HR").get("/training-board/?year=20x6"))
    assert "Write the year as 2026." in bad
    assert as_role("HR").get(f"/training-board/?unit={person('sales_rep').pk}").status_code == 404


def test_a_need_is_closed_from_its_page_and_a_refusal_is_shown_by_the_button(as_role, db):
    need = training.raise_need(person("sales_rep"), "大客户开发")
    head = as_role("DeptHead")
    url = f"/training-needs/show/{need.pk}"
    response = head.post_form(f"/training-needs/drop/{need.pk}", {"note": ""}, url)
    assert response.status_code == 422 and "Say why the need is dropped." in text(response)
    assert head.post_form(f"/training-needs/met/{need.pk}", {"note": "已参加外训"}, url).status_code == 302
    assert TrainingNeed.objects(pk=need.pk).first().status == "met"
    assert "Mark as met" not in text(head.get(url))


def test_a_cancelled_session_is_read_only(as_role, db):
    item = session(days=3)
    hr = as_role("HR")
    url = f"/training-sessions/show/{item.pk}"
    response = hr.post_form(f"/training-sessions/cancel/{item.pk}", {"reason": ""}, url)
    assert response.status_code == 422 and "Say why the session is cancelled." in text(response)
    assert hr.post_form(f"/training-sessions/cancel/{item.pk}", {"reason": "讲师出差"}, url).status_code == 302
    page = text(hr.get(url))
    assert "Cancelled: 讲师出差" in page and "Attendance sheet" not in page
    edit = hr.post_form(f"/training-sessions/edit/{item.pk}", {"title": "改名", "version": str(item.reload().version)},
                        f"/training-sessions/edit/{item.pk}")
    assert edit.status_code == 200 and item.reload().title == "合规培训"


# ---- every page renders; demo data ---------------------------------------------------------------------------
PAGES = ["/training-needs/list/", "/training-needs/add", "/training-plans/list/", "/training-plans/add",
         "/training-sessions/list/", "/training-sessions/add", "/training-sessions/mine/",
         "/training-assessments/list/", "/training-feedback/list/", "/training-feedback/add", "/training-board/"]


@pytest.mark.parametrize("url", PAGES)
def test_every_training_page_renders(as_role, url):
    assert as_role("Admin").get(url).status_code == 200


@pytest.mark.parametrize(("document", "route", "edit"), [
    (TrainingNeed, "training-needs", True), (TrainingPlan, "training-plans", True),
    (TrainingSession, "training-sessions", True), (TrainingAssessment, "training-assessments", False),
    (TrainingFeedback, "training-feedback", False)])
def test_every_demo_record_page_renders(as_role, db, document, route, edit):
    admin = as_role("Admin")
    rows = list(document._get_collection().find({}, {"_id": 1}).limit(20))
    assert rows, "the demo data has records of every kind"
    for raw in rows:
        assert admin.get(f"/{route}/show/{raw['_id']}").status_code == 200
        if edit:
            assert admin.get(f"/{route}/edit/{raw['_id']}").status_code == 200
    for raw in TrainingSession._get_collection().find({}, {"_id": 1}):
        assert admin.get(f"/training-sessions/attendance/{raw['_id']}").status_code == 200
        assert admin.get(f"/training-sessions/scores/{raw['_id']}").status_code == 200


def test_the_demo_has_an_approved_plan_two_held_sessions_a_retake_certificates_and_an_upcoming_session(db):
    (demo,) = TrainingPlan.objects(owner_unit=unit("BR-SALES"), status="approved")
    assert len(demo.courses) == 3
    assert TrainingSession.objects(plan=demo.pk, status="held").count() == 2
    assert TrainingAssessment.objects(status="retake_open").count() >= 1
    assert TrainingAssessment.objects(certificate_no__ne=None).count() >= 3
    upcoming = TrainingSession.objects(plan=demo.pk, status="planned").first()
    assert person("sales_rep").pk in [p.pk for p in upcoming.participants]
    assert TrainingFeedback.objects.count() >= 2 and TrainingNeed.objects.count() >= 3


# ---- round-trip budgets (PERFORMANCE.md) ------------------------------------------------------------------------
def _more_sessions(count: int) -> None:
    """`count` more held sessions of 销售部 with attendance, scores and feedback, written directly."""
    people = [person(u).pk for u in ("sales_rep", "sales_clerk", "sales_head")]
    for n in range(count):
        item = TrainingSession(title=f"批量培训{n}", kind="product", owner_unit=unit("BR-SALES"), trainer_name="讲师",
                               start=moment(-2), end=moment(-2, 11), place="培训室", content="产品", status="held",
                               participants=people, attendance=[AttendanceMark(employee=p, status="present")
                                                                for p in people]).save()
        TrainingAssessment(session=item.pk, employee=people[0], attempt=1, status="failed", score=Decimal(40),
                           pass_mark=60, owner_unit=unit("BR-SALES")).save()
        TrainingAssessment(session=item.pk, employee=people[0], attempt=2, status="retake_open",
                           owner_unit=unit("BR-SALES")).save()
        TrainingFeedback._get_collection().insert_one({"session": item.pk, "employee": people[1],
                                                       "content_rating": 4, "trainer_rating": 4,
                                                       "usefulness_rating": 4, "owner_unit": unit("BR-SALES").pk})


@pytest.mark.parametrize("role", ["HR", "DeptHead"])
def test_the_board_costs_the_same_round_trips_with_thirty_more_sessions(app, counter, as_role, db, role):
    browser = as_role(role)
    url = f"/training-board/?year={YEAR}"
    browser.get(url)
    counter.reset()
    browser.get(url)
    before = data_round_trips(counter)
    _more_sessions(30)
    counter.reset()
    page = text(browser.get(url))
    assert data_round_trips(counter) == before <= 10, str(counter.by_collection())
    assert page.count('data-session="') >= 30


def test_the_employee_record_and_my_trainings_cost_a_fixed_number_of_round_trips(app, counter, as_role, db):
    rep = as_role("Employee")
    urls = ["/training-sessions/mine/"]
    hr = as_role("HR")
    record = f"/training-board/employee/{person('sales_rep').pk}"
    for browser, url in ((rep, urls[0]), (hr, record)):
        browser.get(url)
        counter.reset()
        browser.get(url)
        before = data_round_trips(counter)
        _more_sessions(5)
        counter.reset()
        browser.get(url)
        assert data_round_trips(counter) == before, (url, counter.by_collection())


def test_the_training_record_for_the_appraisal_costs_two_queries(app, counter, db):
    _more_sessions(3)
    rep = person("sales_rep").pk
    counter.reset()
    record = training.training_record(rep, dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31))
    assert sum(counter.by_collection().values()) == 2 and record["completed"] >= 3


def test_materials_are_uploaded_with_the_session_and_read_by_its_participants(as_role, db):
    import io

    hr = as_role("HR")
    start = to_local(moment(2))
    response = hr.post_form("/training-sessions/add", {
        "title": "新员工入职培训", "kind": "onboarding", "owner_unit": str(unit("BR-SALES").pk),
        "trainer_name": "人力资源部 赵敏", "start": f"{start:%Y-%m-%d} 14:00", "end": f"{start:%Y-%m-%d} 17:30",
        "place": "一楼大会议室", "content": "公司文化、规章制度与业务流程（DSC 4(1)3）",
        "participants": [str(person("sales_rep").pk)], "assessment_method": "questionnaire",
        "materials-0-description": "员工手册", "materials-0-file": (io.BytesIO(b"%PDF-1.4 handbook"), "员工手册.pdf")},
        "/training-sessions/add", content_type="multipart/form-data")
    assert response.status_code == 302, text(response)[:3000]
    item = TrainingSession.objects(title="新员工入职培训").first()
    rep = as_role("Employee")
    assert "员工手册.pdf" in text(rep.get(f"/training-sessions/show/{item.pk}"))
    assert rep.get(f"/training-sessions/material/{item.pk}/0").data == b"%PDF-1.4 handbook"
    assert as_role("finance").get(f"/training-sessions/material/{item.pk}/0").status_code == 404
    assert rep.get(f"/training-sessions/material/{item.pk}/7").status_code == 404
    assert rep.get(f"/training-sessions/edit/{item.pk}").status_code == 302  # participants read, HR keeps


def test_a_session_page_costs_the_same_with_five_or_twenty_five_participants(app, counter, as_role, db):
    small = held()
    crowd = list(Employee.objects(status__ne="left").order_by("employee_no").limit(25))
    assert len(crowd) == 25
    big = session(people=(), participants=crowd)
    training.mark_attendance(big.pk, actor("hr"), {str(p.pk): "present" for p in crowd})
    training.record_scores(big.pk, actor("hr"), {str(p.pk): str(40 + n * 2) for n, p in enumerate(crowd)})
    hr = as_role("HR")
    costs = []
    for item in (small, big):
        url = f"/training-sessions/show/{item.pk}"
        hr.get(url)
        counter.reset()
        hr.get(url)
        costs.append(data_round_trips(counter))
    assert costs[0] == costs[1], costs


# ---- review of issue 7 -------------------------------------------------------------------------------------------
def test_results_follow_the_trainee_not_the_sessions_unit_DOMAIN_1(as_role, db):
    item = held(people=("sales_rep", "service_clerk"), owner_unit=unit("BR-CS"))
    scores(item, sales_rep="88", service_clerk="50")
    rep = TrainingAssessment.objects(session=item.pk, employee=person("sales_rep").pk).get()
    clerk = TrainingAssessment.objects(session=item.pk, employee=person("service_clerk").pk, attempt=1).get()
    TrainingFeedback(session=item, employee=person("sales_rep"), content_rating=5, trainer_rating=5,
                     usefulness_rating=4).save()
    rated = TrainingFeedback.objects(session=item.pk).get()
    own_unit = as_role("service_clerk")  # a Clerk of the session's unit: their own results only
    for url in (f"/training-assessments/show/{rep.pk}", f"/training-assessments/certificate/{rep.pk}",
                f"/training-feedback/show/{rated.pk}"):
        assert own_unit.get(url).status_code == 404, url
    assert own_unit.get(f"/training-assessments/show/{clerk.pk}").status_code == 200
    assert rep.certificate_no not in text(own_unit.get("/training-assessments/list/"))
    page = text(own_unit.get(f"/training-sessions/show/{item.pk}"))
    assert "50.0" in page and "88.0" not in page and rows_of(page, "Attendance") == 1  # their own row
    head = as_role("sales_head")  # heads the trainee's unit, not the session's
    for url in (f"/training-assessments/show/{rep.pk}", f"/training-assessments/certificate/{rep.pk}",
                f"/training-feedback/show/{rated.pk}"):
        assert head.get(url).status_code == 200, url
    assert head.get(f"/training-assessments/show/{clerk.pk}").status_code == 404
    session_head = text(as_role("service_head").get(f"/training-sessions/show/{item.pk}"))
    assert "50.0" in session_head and "88.0" not in session_head  # the rows of their own unit's trainee
    assert rows_of(session_head, "Attendance") == 1
    everyone = text(as_role("HR").get(f"/training-sessions/show/{item.pk}"))
    assert "50.0" in everyone and "88.0" in everyone and rows_of(everyone, "Attendance") == 2


def rows_of(page: str, panel: str) -> int:
    """How many rows a related panel of a record's page shows (its badge)."""
    return int(re.search(rf'</i> {panel} <span class="badge">(\d+)</span>', page).group(1))


def mentions(page: str, record) -> bool:
    """Whether a page names the record: its id, or its title as HTML or inside the search form's script."""
    title = record.title
    return str(record.pk) in page or title in page or title.encode("unicode_escape").decode() in page


def test_the_search_forms_offer_no_plan_or_session_of_another_unit_DOMAIN_1(as_role, db):
    other = plan(unit_code="BR-SALES", year=2033, title="销售部内部培训计划甲")
    hidden = held(people=("sales_rep",), owner_unit=unit("BR-SALES"), title="销售部内部培训乙")
    scores(hidden, sales_rep="90")
    clerk = as_role("service_clerk")
    for url in ("/training-sessions/list/", "/training-assessments/list/", "/training-feedback/list/"):
        page = text(clerk.get(url))
        assert not mentions(page, other) and not mentions(page, hidden), url  # not even among the filter's options
    assert clerk.get(f"/lookup/training_plan/?q={other.title}").get_json()["results"] == []
    assert clerk.get(f"/lookup/training_session/?q={hidden.title}").get_json()["results"] == []
    hr = as_role("HR")  # the search still finds them by name for those who see them
    assert [r["id"] for r in hr.get(f"/lookup/training_plan/?q={other.title}").get_json()["results"]] == [
        str(other.pk)]
    listed = text(hr.get(f"/training-assessments/list/?_flt_0_session={hidden.title}"))
    assert TrainingAssessment.objects(session=hidden.pk).get().certificate_no in listed


def test_the_attendance_sheet_keeps_someone_with_results_attended_on_their_row_FSS_5_4_3(as_role, db):
    item = held(people=("sales_rep", "sales_clerk"))
    scores(item, sales_rep="30")
    hr = as_role("HR")
    sheet = f"/training-sessions/attendance/{item.pk}"
    response = hr.post_form(sheet, {f"mark-{person('sales_rep').pk}": "absent",
                                    f"mark-{person('sales_clerk').pk}": "absent"})
    page = text(response)
    assert response.status_code == 422 and "Correct the rows marked; nothing was saved." in page
    row = re.search(rf'<tr class="danger" data-employee="{person("sales_rep").pk}">.*?</tr>', page, re.S).group(0)
    assert "孙浩 already has assessment results or feedback in this session" in row
    assert [m.status for m in item.reload().attendance] == ["present", "present"]
    TrainingAssessment._get_collection().delete_many({"session": item.pk, "status": "retake_open"})  # cut short
    scores_page = text(hr.get(f"/training-sessions/scores/{item.pk}"))
    assert f'name="score-{person("sales_rep").pk}"' in scores_page and "Attempt 2" in scores_page


def test_a_need_in_a_submitted_or_approved_plan_cannot_be_deleted_BRD_7_2_1(as_role, db):
    from portal import approvals

    need = training.raise_need(person("service_clerk"), "电话礼仪")
    item = plan(status="draft", needs=[need])
    approvals.submit(item, actor("hr"))
    hr = as_role("HR")
    hr.post_form(f"/training-needs/delete/{need.pk}", {}, form_url="/training-needs/list/")
    assert TrainingNeed.objects(pk=need.pk).count() == 1 and [n.pk for n in item.reload().needs] == [need.pk]
    loose = training.raise_need(person("service_clerk"), "表格技能")
    draft = plan(year=2034, status="draft", needs=[loose])
    hr.post_form(f"/training-needs/delete/{loose.pk}", {}, form_url="/training-needs/list/")
    assert TrainingNeed.objects(pk=loose.pk).count() == 0 and draft.reload().needs == []  # a draft lets it go


def test_the_plan_form_reads_its_needs_labels_in_one_query_each_BRD_7_2_1(app, counter, as_role, db):
    hr = as_role("HR")
    staff = list(Employee.objects(status__ne="left").order_by("employee_no").limit(12))
    training.raise_need(staff[0], "两人需求")
    training.raise_need(staff[1], "两人需求")
    hr.get("/training-plans/add")
    counter.reset()
    page = text(hr.get("/training-plans/add"))
    few = data_round_trips(counter)
    assert f"两人需求 · {staff[1].name}" in page
    for employee in staff[2:]:
        training.raise_need(employee, "十二人需求")
    counter.reset()
    page = text(hr.get("/training-plans/add"))
    assert data_round_trips(counter) == few, counter.by_collection()
    assert f"十二人需求 · {staff[11].name}" in page
