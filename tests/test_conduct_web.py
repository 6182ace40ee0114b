"""Conduct screens as their users work them: attendance and its monthly summary, violations from recording to the
confirmed correction, who may see a disciplinary record (every role, every route), gift declarations, every page
rendering and the lists' round-trip budgets."""

import datetime as dt
import hashlib
import io

import pytest

from models.conduct import AttendanceRecord, GiftDeclaration, Violation
from models.files import Attachment
from models.settings import Setting
from portal.settings import local_today
from tests.approvals_kit import person
from tests.conftest import data_round_trips
from tests.test_conduct import MONDAY, attend, reload, violation

PDF = b"%PDF-1.4\n% evidence\n"


def text(response) -> str:
    return response.data.decode()


def denied(response) -> bool:
    """FAB answers a missing permission with a redirect to the login page (a 403 would do as well)."""
    return response.status_code == 403 or (response.status_code == 302
                                           and "/login/" in response.headers.get("Location", ""))


def post(browser, url: str, data: dict | None = None):
    """POST with a valid CSRF token even where the record's own page is not open to the user."""
    return browser.post(url, {**(data or {}), "csrf_token": browser.token("/resetmypassword/form")})


def evidence_file() -> Attachment:
    return Attachment(filename="拜访记录截图.pdf", content_type="application/pdf", size=len(PDF),
                      sha256=hashlib.sha256(PDF).hexdigest(), data=PDF, uploaded_by="hr").save()


# ---- attendance (FSS 4(1)1) -------------------------------------------------------------------------------------
def test_a_clerk_records_a_colleagues_day_and_the_status_is_derived(as_role, db):
    clerk = as_role("Clerk")
    data = {"employee": str(person("sales_rep").pk), "date": MONDAY.isoformat(), "check_in": "9:20",
            "check_out": "18:00", "note": "地铁故障"}
    response = clerk.post_form("/attendance/add", data, follow_redirects=False)
    assert response.status_code == 302, text(response)
    record = AttendanceRecord.objects(employee=person("sales_rep"), date=MONDAY).first()
    assert (record.status, record.check_in, record.owner_unit.code) == ("late", "09:20", "BR-SALES")
    again = clerk.post_form("/attendance/add", {**data, "check_in": "08:50"})
    assert again.status_code == 200 and "already has an attendance record for this day" in text(again)
    bad = clerk.post_form("/attendance/add", {**data, "date": "2025-03-04", "check_in": "25:00"})
    assert bad.status_code == 200 and "Write the time as 09:05 (24-hour clock)." in text(bad)
    other_unit = clerk.post_form("/attendance/add", {**data, "employee": str(person("finance").pk),
                                                     "date": "2025-03-05"})
    assert other_unit.status_code == 200 and AttendanceRecord.objects(employee=person("finance")).count() == 0


def test_admin_sets_the_working_day_and_a_bad_time_is_answered_next_to_the_field(as_role, db):
    row = Setting.objects(key="work_start").first()
    admin = as_role("Admin")
    url = f"/settingview/edit/{row.pk}"
    response = admin.post_form(url, {"value": "25:00", "version": str(row.version)})
    assert response.status_code == 200 and "Write the time as 09:05 (24-hour clock)." in text(response)
    response = admin.post_form(url, {"value": "8:30", "version": str(row.version)}, follow_redirects=False)
    assert response.status_code == 302 and Setting.objects(key="work_start").first().value == "08:30"
    assert attend("finance", MONDAY, "08:36", "18:00").status == "late"  # 08:30 plus five minutes' grace


def test_an_employee_reads_only_their_own_attendance(as_role, db):
    mine, theirs = attend("sales_rep"), attend("sales_clerk")
    rep = as_role("Employee")
    assert rep.get(f"/attendance/show/{mine.pk}").status_code == 200
    assert rep.get(f"/attendance/show/{theirs.pk}").status_code == 404
    assert denied(rep.get("/attendance/add"))
    assert as_role("Clerk").get(f"/attendance/show/{mine.pk}").status_code == 200  # the unit's clerk keeps it
    assert as_role("service_clerk").get(f"/attendance/show/{mine.pk}").status_code == 404


def test_the_monthly_summary_stays_in_scope_and_answers_a_bad_month_in_place(as_role, db):
    attend("sales_rep", MONDAY, "09:30", "18:00")
    attend("sales_clerk", MONDAY)
    rep = text(as_role("Employee").get("/attendance/summary/?month=2025-03"))
    assert "孙浩" in rep and "陈静" not in rep
    head = text(as_role("DeptHead").get("/attendance/summary/?month=2025-03"))
    assert "孙浩" in head and "陈静" in head
    for month in ("2025-13", "March", "2025-3x", "9" * 50):
        response = as_role("Admin").get(f"/attendance/summary/?month={month}")
        assert response.status_code == 200 and "Write the month as 2026-05." in text(response)


# ---- violations (MIC 違規處理) ------------------------------------------------------------------------------------
def test_hr_records_and_decides_a_warning_the_person_acknowledges_and_reports_and_the_head_confirms(as_role, db):
    hr = as_role("HR")
    deadline = local_today() + dt.timedelta(days=7)
    data = {"person": str(person("sales_rep").pk), "occurred_on": (local_today() - dt.timedelta(days=2)).isoformat(),
            "category": "duty", "description": "客户拜访记录未按时登记", "measure": "warning",
            "correction_deadline": deadline.isoformat(), "evidence-0-description": "系统截图",
            "evidence-0-file": (io.BytesIO(PDF), "截图.pdf")}
    response = hr.post_form("/violations/add", data, content_type="multipart/form-data")
    assert response.status_code == 302, text(response)[:3000]
    record = Violation.objects(description="客户拜访记录未按时登记").first()
    assert record.status == "recorded" and record.evidence[0].file.filename == "截图.pdf"
    page = text(hr.get(f"/violations/show/{record.pk}"))
    assert "Decide: fix the measure" in page and "截图.pdf" in page
    assert hr.post_form(f"/violations/decide/{record.pk}", {}, f"/violations/show/{record.pk}").status_code == 302
    rep = as_role("Employee")
    assert record.number in text(rep.get("/violations/mine/"))
    assert "please read and acknowledge" in text(rep.get("/notifications/"))
    assert rep.get(f"/violations/evidence/{record.pk}/0").data == PDF
    assert "I have read the decision" in text(rep.get(f"/violations/show/{record.pk}"))
    assert rep.post_form(f"/violations/acknowledge/{record.pk}", {},
                         f"/violations/show/{record.pk}").status_code == 302
    response = rep.post_form(f"/violations/report/{record.pk}", {"text": ""}, f"/violations/show/{record.pk}")
    assert response.status_code == 422 and "Say what you corrected." in text(response)
    assert rep.post_form(f"/violations/report/{record.pk}", {"text": "已补录全部记录"},
                         f"/violations/show/{record.pk}").status_code == 302
    head = as_role("DeptHead")
    assert "Confirm the correction" in text(head.get(f"/violations/show/{record.pk}"))
    assert head.post_form(f"/violations/confirm/{record.pk}", {"note": "已核实"},
                          f"/violations/show/{record.pk}").status_code == 302
    assert reload(record).status == "corrected"
    fields = {k: v for k, v in data.items() if k != "evidence-0-file"}
    edit = hr.post_form(f"/violations/edit/{record.pk}", {**fields, "description": "改写", "version": "9"})
    assert edit.status_code == 200 and reload(record).description == "客户拜访记录未按时登记"


def test_refusals_are_shown_next_to_the_button_and_the_field(as_role, db):
    late = violation()
    Violation._get_collection().update_one({"_id": late.pk}, {"$set": {"correction_deadline": dt.datetime(2020, 1, 1)}})
    hr = as_role("HR")
    response = hr.post_form(f"/violations/decide/{late.pk}", {}, f"/violations/show/{late.pk}")
    assert response.status_code == 422 and "The correction deadline must be in the future." in text(response)
    assert reload(late).status == "recorded"
    data = {"person": str(person("sales_rep").pk), "occurred_on": "2026-01-05", "category": "law",
            "description": "泄露客户资料", "measure": "demotion"}
    response = hr.post_form("/violations/add", data)
    assert response.status_code == 200 and "A demotion names the employee's new position." in text(response)
    response = hr.post_form("/violations/add", {**data, "measure": "fine", "fine_amount": "-5"})
    assert response.status_code == 200 and Violation.objects(description="泄露客户资料").count() == 0


# who opens sales_rep's violation: list, show, edit page, evidence download, and the decide button
VISIBILITY = [
    # user           list    show  edit   evidence  decide
    ("Admin",        True,   200,  200,   200,      302),
    ("HR",           True,   200,  200,   200,      302),
    ("DeptHead",     True,   200,  None,  200,      None),  # sales_head heads the person's department
    ("gm",           True,   200,  None,  200,      None),  # the head of the company, above it
    ("Auditor",      True,   200,  None,  200,      None),
    ("Employee",     None,   200,  None,  200,      None),  # the person: own records under "mine"
    ("Clerk",        None,   404,  None,  404,      None),  # a clerk of the same department
    ("Finance",      None,   404,  None,  404,      None),
    ("Legal",        None,   404,  None,  404,      None),
    ("service_head", False,  404,  None,  404,      None),  # the head of another department
    ("agent",        None,   404,  None,  404,      None),  # another employee
]


@pytest.mark.parametrize(("user", "listed", "show", "edit", "evidence", "decide"), VISIBILITY)
def test_a_disciplinary_record_is_seen_only_by_hr_the_heads_above_auditor_and_the_person(
        as_role, db, user, listed, show, edit, evidence, decide):
    record = violation(evidence=[{"file": evidence_file(), "description": "截图"}])
    browser = as_role(user)
    listing = browser.get("/violations/list/")
    if listed is None:
        assert denied(listing)
    else:
        assert listing.status_code == 200 and (record.number in text(listing)) is listed
    assert browser.get(f"/violations/show/{record.pk}").status_code == show
    edit_page = browser.get(f"/violations/edit/{record.pk}")
    assert edit_page.status_code == edit if edit else denied(edit_page)
    download = browser.get(f"/violations/evidence/{record.pk}/0")
    assert download.status_code == evidence and (evidence != 200 or download.data == PDF)
    decided = post(browser, f"/violations/decide/{record.pk}")
    assert decided.status_code == decide if decide else denied(decided)
    assert reload(record).status == ("decided" if decide else "recorded")
    acknowledged = post(browser, f"/violations/acknowledge/{record.pk}")  # only the person, once decided
    assert acknowledged.status_code in ((422, 404) if show == 200 else (404,)) or denied(acknowledged)
    assert reload(record).status in ("recorded", "decided")


def test_the_person_alone_acknowledges(as_role, db):
    record = violation()
    Violation._get_collection().update_one({"_id": record.pk}, {"$set": {"status": "decided"}})
    head = as_role("DeptHead")
    response = post(head, f"/violations/acknowledge/{record.pk}")
    assert response.status_code == 422 and reload(record).status == "decided"  # refused (no button to show it by)
    assert post(as_role("Clerk"), f"/violations/acknowledge/{record.pk}").status_code == 404
    assert post(as_role("Employee"), f"/violations/acknowledge/{record.pk}").status_code == 302
    assert reload(record).status == "acknowledged"


def test_the_violation_menu_is_offered_only_to_those_who_keep_violations(as_role, db):
    for user, shown in (("HR", True), ("DeptHead", True), ("Auditor", True), ("Clerk", False), ("Finance", False),
                        ("Legal", False)):
        page = text(as_role(user).get("/"))
        assert ("/violations/list/" in page) is shown, user
        assert "/violations/mine/" in page  # everyone's own records


# ---- gifts (FSS 4(4)1) --------------------------------------------------------------------------------------------
def test_everyone_declares_their_own_gifts_and_their_head_reads_them(as_role, db):
    rep = as_role("Employee")
    data = {"employee": str(person("sales_clerk").pk), "giver": "杭州瑞丰", "item": "茶叶礼盒", "value": "268.00",
            "offered_on": local_today().isoformat(), "handling": "handed_in", "handed_to": "人力资源部"}
    response = rep.post_form("/gift-declarations/add", data, follow_redirects=False)
    assert response.status_code == 302, text(response)
    gift = GiftDeclaration.objects(item="茶叶礼盒").first()
    assert gift.employee.pk == person("sales_rep").pk  # declared as themselves, whatever the form said
    head = as_role("DeptHead")
    assert "茶叶礼盒" in text(head.get("/gift-declarations/list/"))
    response = head.post_form(f"/gift-declarations/edit/{gift.pk}", {**data, "item": "改过", "version": "0"})
    assert response.status_code == 200 and "You may read this record but not change it." in text(response)
    assert reload(gift).item == "茶叶礼盒"
    assert as_role("Clerk").get(f"/gift-declarations/show/{gift.pk}").status_code == 404  # a colleague
    assert as_role("service_head").get(f"/gift-declarations/show/{gift.pk}").status_code == 404
    assert as_role("HR").get(f"/gift-declarations/show/{gift.pk}").status_code == 200
    response = rep.post_form("/gift-declarations/add", {**data, "handed_to": ""})
    assert response.status_code == 200 and "Say to whom the gift was handed in." in text(response)


# ---- every page renders; lists keep their budget -----------------------------------------------------------------
PAGES = ["/attendance/list/", "/attendance/add", "/attendance/summary/", "/attendance/summary/?month=2025-03",
         "/violations/list/", "/violations/add", "/violations/mine/", "/gift-declarations/list/",
         "/gift-declarations/add", "/leaverequestview/list/"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_of_conduct_renders(as_role, url):
    assert as_role("Admin").get(url).status_code == 200


@pytest.mark.parametrize(("document", "route"), [(AttendanceRecord, "attendance"), (Violation, "violations"),
                                                 (GiftDeclaration, "gift-declarations")])
def test_every_demo_record_page_renders(as_role, db, document, route):
    admin = as_role("Admin")
    rows = list(document._get_collection().find({}, {"_id": 1}).limit(20))
    assert rows, "the demo has records of every kind"
    for raw in rows:
        assert admin.get(f"/{route}/show/{raw['_id']}").status_code == 200
        assert admin.get(f"/{route}/edit/{raw['_id']}").status_code == 200


def test_the_monthly_summary_is_one_aggregation_whatever_the_number_of_records(counter, as_role, db):
    admin = as_role("Admin")
    admin.get("/attendance/summary/?month=2025-03")
    counter.reset()
    admin.get("/attendance/summary/?month=2025-03")
    empty = data_round_trips(counter)
    for n in range(20):
        attend("sales_rep" if n % 2 else "finance", MONDAY + dt.timedelta(days=n // 2))
    counter.reset()
    page = text(admin.get("/attendance/summary/?month=2025-03"))
    assert "孙浩" in page and "黄磊" in page
    assert counter.by_collection().get("attendance_records", 0) == 1  # one aggregation
    assert data_round_trips(counter) <= empty + 1  # + the names of the people found
