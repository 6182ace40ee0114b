"""Export of any list view to CSV and XLSX (issue 9 item 3): exactly the list's rows within the user's scope, its
filters and order, headers in the user's language, formulas neutralised, personal data exports audited, a cap,
and a fixed number of round-trips per batch."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from flask_appbuilder import ModelView
from flask_babel import force_locale

from models.audit import AuditEntry
from models.customers import Contact, Customer, mask_email, mask_phone
from models.org import OrgUnit
from models.sales import WorkReport
from portal import exports, sheets
from tests.approvals_kit import person
from tests.conftest import data_round_trips

REPORTS = "/work-reports/export/{fmt}/"
MINE = "_flt_2_period=203"  # "starts with": the reports these tests add (2031 onwards), none of the demo's


# ---- helpers ------------------------------------------------------------------------------------------------------
def view_of(app, name: str):
    return next(v for v in app.appbuilder.baseviews if type(v).__name__ == name)


def export_views(app) -> list:
    return sorted((v for v in app.appbuilder.baseviews if isinstance(v, ModelView) and hasattr(v, "export_enabled")),
                  key=lambda v: v.route_base)


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def read_xlsx(response) -> list[list]:
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == sheets.XLSX_TYPE
    sheet = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def report(username: str, period: str, developed: int = 1, receivables=None) -> WorkReport:
    return WorkReport(salesperson=person(username), period_kind="month", period=period, customers_developed=developed,
                      negotiations=0, contracts_signed=0, receivables=receivables, summary="月度总结").save()


def month(index: int) -> str:
    return f"{2031 + index // 12}-{index % 12 + 1:02d}"


def labels(app, view, locale: str = "en") -> list[str]:
    with app.test_request_context(), force_locale(locale):
        return exports.headers(view, view.export_columns)


def customer(name: str, owner: str, phone: str = "13711112222", email: str = "zhou@haiyun.example") -> Customer:
    return Customer(name=name, owner=person(owner), contacts=[Contact(name="周敏", phone=phone, email=email)]).save()


def export_entries(collection: str) -> int:
    return AuditEntry.objects(action="export", collection=collection).count()


@pytest.fixture
def reports(db):
    """A report of a salesperson of 销售部, of a clerk of 客户服务部 and of a clerk of 销售部."""
    return [report("sales_rep", "2031-01"), report("service_clerk", "2031-02"), report("sales_clerk", "2031-03")]


# ---- scope: exactly the list's rows (DOMAIN 1) ------------------------------------------------------------------
def _subtree(unit_id) -> set:
    return {u["_id"] for u in OrgUnit._get_collection().find({"$or": [{"_id": unit_id}, {"ancestors": unit_id}]})}


@pytest.mark.parametrize("role", ["Admin", "Clerk", "Employee"])
def test_an_export_holds_exactly_the_rows_of_the_users_scope__DOMAIN_1(as_role, reports, role):
    rows = read_csv(as_role(role).get(REPORTS.format(fmt="csv")))[1:]
    everything = list(WorkReport.objects)
    if role == "Admin":
        expected = everything
    elif role == "Clerk":  # sales_clerk: the records of 销售部 and the units below it, and their own
        units = _subtree(person("sales_clerk").owner_unit.pk)
        expected = [r for r in everything if r.owner_unit.pk in units or r.salesperson == person("sales_clerk")]
    else:  # sales_rep: their own reports only
        expected = [r for r in everything if r.salesperson == person("sales_rep")]
    assert sorted((row[0], row[1]) for row in rows) == sorted((r.period, str(r.salesperson)) for r in expected)
    periods = {row[0] for row in rows}
    assert ("2031-02" in periods) is (role == "Admin")  # 客户服务部's report: another unit, another person
    assert ("2031-01" in periods) is True


def test_an_xlsx_export_holds_the_same_rows_as_the_csv_export(as_role, reports):
    clerk = as_role("Clerk")
    as_csv = read_csv(clerk.get(REPORTS.format(fmt="csv")))
    as_xlsx = read_xlsx(clerk.get(REPORTS.format(fmt="xlsx")))
    assert [row[:2] for row in as_xlsx] == [row[:2] for row in as_csv]


def test_an_export_of_another_units_record_by_filter_still_shows_nothing__DOMAIN_1(as_role, reports):
    service_report = reports[1]
    url = REPORTS.format(fmt="csv") + "?_flt_0_period=2031-02"
    assert read_csv(as_role("Clerk").get(url))[1:] == []
    assert [row[0] for row in read_csv(as_role("Admin").get(url))[1:]] == [service_report.period]


# ---- filters and order --------------------------------------------------------------------------------------------
def test_an_export_keeps_the_lists_filters_and_allowed_order(as_role, db):
    for index, developed in enumerate([5, 1, 3, 2]):
        report("sales_rep", month(index), developed=developed)
    admin = as_role("Admin")
    rows = read_csv(admin.get(REPORTS.format(fmt="csv") + f"?{MINE}&_oc_WorkReportView=customers_developed"
                                                          "&_od_WorkReportView=asc"))[1:]
    assert [row[2] for row in rows] == ["1", "2", "3", "5"]
    rows = read_csv(admin.get(REPORTS.format(fmt="csv") + f"?{MINE}&_oc_WorkReportView=customers_developed"
                                                          "&_od_WorkReportView=desc"))[1:]
    assert [row[2] for row in rows] == ["5", "3", "2", "1"]
    rows = read_csv(admin.get(REPORTS.format(fmt="csv") + f"?{MINE}&_oc_WorkReportView=summary"
                                                          "&_od_WorkReportView=asc"))[1:]
    assert [row[0] for row in rows] == ["2031-04", "2031-03", "2031-02", "2031-01"]  # not sortable: base order


@pytest.mark.parametrize("query", [
    "_flt_0_period[$ne]=1", "_flt_9_period=1", "_flt_0_salesperson=bad", "_oc_WorkReportView=password",
    "_oc_WorkReportView=zzz&_od_WorkReportView=sideways", "page_WorkReportView=-1", "psize_WorkReportView=0",
    "_flt_3_customers_developed=NaN", "_flt_0_owner_unit=%24ne",
])
def test_malformed_filters_on_an_export_never_answer_500(as_role, db, query):
    response = as_role("Clerk").get(REPORTS.format(fmt="csv") + "?" + query)
    assert response.status_code in (200, 400)  # bad paging is 400 on every page (the platform's hook)


# ---- values and headers ---------------------------------------------------------------------------------------------
def test_headers_follow_the_users_language(app, as_role, db):
    clerk = as_role("Clerk")
    view = view_of(app, "CustomerView")
    assert read_csv(clerk.get("/customers/export/csv/"))[0] == labels(app, view, "en")
    assert clerk.get("/lang/zh").status_code == 302
    header = read_csv(clerk.get("/customers/export/csv/"))[0]
    assert header == labels(app, view, "zh") != labels(app, view, "en")
    assert read_xlsx(clerk.get("/customers/export/xlsx/"))[0] == header


def test_values_read_as_on_the_screen_money_as_numbers_dates_as_dates(as_role, db):
    report("sales_rep", "2031-01", receivables=Decimal("1234.50"))
    admin = as_role("Admin")
    row = read_xlsx(admin.get(REPORTS.format(fmt="xlsx") + "?_flt_0_period=2031-01"))[1]
    assert row[1] == str(person("sales_rep"))  # a reference as its name
    assert row[2] == 1 and row[5] == pytest.approx(1234.5)  # numbers stay numbers, money in yuan
    assert read_csv(admin.get(REPORTS.format(fmt="csv") + "?_flt_0_period=2031-01"))[1][5] == "1234.50"
    rows = read_xlsx(admin.get("/customers/export/xlsx/"))
    header = rows[0]
    kinds = {row[header.index("Kind")] for row in rows[1:]}
    assert kinds <= {"Company", "Person"}  # choice labels, not stored keys
    verified = [row[header.index("Last verified on")] for row in rows[1:]]
    assert all(hasattr(v, "year") for v in verified if v is not None)  # dates are dates


# ---- formula injection (SECURITY.md 2 Input) --------------------------------------------------------------------
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+86 21 5555", "-2+3", "@SUM(A1:A9)"]


def test_a_cell_that_starts_like_a_formula_is_neutralised_in_csv_and_xlsx(as_role, db):
    for number, name in enumerate(FORMULAS):
        customer(name, "sales_clerk", phone=f"1371111222{number}")
    admin = as_role("Admin")
    names = {row[1] for row in read_csv(admin.get("/customers/export/csv/"))[1:]}
    assert {f"'{name}" for name in FORMULAS} <= names
    assert not names & set(FORMULAS)
    response = admin.get("/customers/export/xlsx/")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    written = {c.value for c in cells}
    assert {f"'{name}" for name in FORMULAS} <= written
    assert all(c.data_type == "s" for c in cells if c.value and str(c.value).lstrip("'") in FORMULAS)


def test_a_formula_behind_control_characters_is_neutralised_too__SECURITY_2(as_role, db):
    hidden = "\x07\x1b=HYPERLINK(\"http://evil.example\",\"x\")"
    customer(hidden, "sales_clerk", phone="13711113333")
    admin = as_role("Admin")
    sheet = openpyxl.load_workbook(io.BytesIO(admin.get("/customers/export/xlsx/").data)).active
    cells = [row[1] for row in sheet.iter_rows(min_row=2) if "HYPERLINK" in str(row[1].value)]
    assert [c.value for c in cells] == ["'=HYPERLINK(\"http://evil.example\",\"x\")"]  # stripped, then neutralised
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]  # no live formula anywhere
    names = [row[1] for row in read_csv(admin.get("/customers/export/csv/"))[1:] if "HYPERLINK" in row[1]]
    assert names == ["'" + hidden]


# ---- field scope: masked contacts, the bonus ----------------------------------------------------------------------
def test_contacts_stay_masked_in_a_clerks_customer_export__DSC_7_1_2(as_role, db):
    customer("导出测试甲公司", "sales_rep", phone="13711112222", email="zhou@haiyun.example")
    customer("导出测试乙公司", "sales_clerk", phone="13933334444", email="li@baihui.example")
    clerk_rows = {row[1]: row[-1] for row in read_csv(as_role("Clerk").get("/customers/export/csv/"))[1:]}
    assert mask_phone("13711112222") in clerk_rows["导出测试甲公司"]  # not theirs: masked, as on the page
    assert mask_email("zhou@haiyun.example") in clerk_rows["导出测试甲公司"]
    assert "13711112222" not in clerk_rows["导出测试甲公司"] and "zhou@" not in clerk_rows["导出测试甲公司"]
    assert "13933334444" in clerk_rows["导出测试乙公司"]  # their own customer: in full
    head_rows = {row[1]: row[-1] for row in read_csv(as_role("DeptHead").get("/customers/export/csv/"))[1:]}
    assert "13711112222" in head_rows["导出测试甲公司"]  # the head of the owner's unit


def test_an_award_export_shows_a_bonus_only_to_whom_the_page_shows_it__SOC_5_2(as_role, db):
    def bonuses(role):
        rows = read_csv(as_role(role).get("/awards/export/csv/"))
        column = rows[0].index("Bonus (CNY)")
        return {row[1]: row[column] for row in rows[1:]}

    rep = str(person("sales_rep"))
    assert set(bonuses("Clerk").values()) == {""}
    mine = bonuses("Employee")
    assert mine[rep] and {v for k, v in mine.items() if k != rep} <= {""}
    assert all(bonuses("HR").values())


def test_an_export_column_the_screens_do_not_show_is_refused_at_start_up():
    class Leaky:
        export_columns = ["title", "bonus"]
        list_columns = ["title", "bonus_shown"]
        show_columns = ["title", "bonus_shown"]

    with pytest.raises(TypeError, match="bonus"):
        exports.columns_of(Leaky())


# ---- audit ------------------------------------------------------------------------------------------------------
def test_an_export_of_personal_data_is_audited_with_format_rows_and_filters(as_role, db):
    before = export_entries("customers")
    url = "/customers/export/xlsx/?_flt_2_name=导出&_oc_CustomerView=name&_od_CustomerView=asc"
    response = as_role("Clerk").get(url)
    assert response.status_code == 200
    assert export_entries("customers") == before + 1
    entry = AuditEntry.objects(action="export", collection="customers").order_by("-at").first()
    assert entry.user == "sales_clerk" and entry.record_id == exports.EXPORT_RECORD_ID
    assert entry.note.startswith("XLSX, 0 rows") and "name" in entry.note and "导出" in entry.note
    assert "order: name asc" in entry.note


def test_an_export_of_data_that_is_not_personal_is_not_audited(as_role, db):
    before = AuditEntry.objects(action="export").count()
    assert read_csv(as_role("Clerk").get("/products/export/csv/"))[1:]
    assert AuditEntry.objects(action="export").count() == before


def test_personal_data_views_declare_their_exports_audited(app):
    audited = {type(v).__name__ for v in export_views(app) if v.export_audited}
    assert {"CustomerView", "ComplaintView", "EmployeeView", "AgentView", "CandidateView", "CompensationProfileView",
            "AwardView", "AppraisalView", "ViolationView", "LeaveRequestView", "AttendanceRecordView",
            "PortalUserDBModelView"} <= audited
    assert not {"ProductView", "OrgUnitView", "RegulationView", "ClauseView"} & audited


# ---- the route: formats, cap, buttons, response --------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["pdf", "CSV", "xls", "x" * 300])
def test_an_unknown_format_is_404(as_role, db, fmt):
    assert as_role("Admin").get(f"/customers/export/{fmt}/").status_code == 404


def test_a_list_over_the_cap_asks_to_filter_and_gives_no_file(app, as_role, reports, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_MAX_ROWS", 2)
    admin = as_role("Admin")
    before = AuditEntry.objects(action="export").count()
    response = admin.get("/customers/export/csv/?_flt_2_name=")
    assert response.status_code == 302 and "Content-Disposition" not in response.headers
    assert response.headers["Location"].endswith("/customers/list/?_flt_2_name=")
    page = admin.get(response.headers["Location"]).data.decode()
    assert "one export holds at most 2" in page
    assert AuditEntry.objects(action="export").count() == before
    assert read_csv(admin.get(REPORTS.format(fmt="csv") + "?_flt_0_period=2031-01"))[1:]  # a filtered one is fine


def test_the_file_is_an_uncached_attachment_with_a_safe_name(as_role, db):
    response = as_role("Admin").get("/customers/export/xlsx/")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="customers-')
    assert response.headers["Content-Disposition"].endswith('.xlsx"')


def test_the_list_offers_export_buttons_that_keep_its_filters_and_order(app, as_role, db, monkeypatch):
    clerk = as_role("Clerk")
    page = clerk.get(f"/work-reports/list/?{MINE}&_oc_WorkReportView=period&_od_WorkReportView=asc").data.decode()
    assert f'href="/work-reports/export/csv/?{MINE}&amp;_oc_WorkReportView=period&amp;_od_WorkReportView=asc"' in page
    assert 'href="/work-reports/export/xlsx/?' in page
    monkeypatch.setattr(view_of(app, "WorkReportView"), "export_enabled", False)
    assert "/work-reports/export/" not in clerk.get("/work-reports/list/").data.decode()
    assert clerk.get(REPORTS.format(fmt="csv")).status_code == 404


def test_who_may_not_list_may_not_export(as_role, db):
    response = as_role("Clerk").get("/compensation/export/csv/")  # HR, Admin and Auditor only (DSC 4(3))
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert as_role("Employee").get("/users/export/csv/").status_code == 302  # users: Admin only


# ---- round-trips (PERFORMANCE.md) ---------------------------------------------------------------------------------
def _export_cost(browser, counter) -> int:
    browser.get(REPORTS.format(fmt="csv") + f"?{MINE}")  # warm: the first request of a session reads more
    counter.reset()
    response = browser.get(REPORTS.format(fmt="csv") + f"?{MINE}")
    assert response.status_code == 200
    return data_round_trips(counter)


def test_an_export_costs_the_same_at_n_and_10n_rows_and_a_fixed_amount_per_batch(app, as_role, db, counter,
                                                                                 monkeypatch):
    admin = as_role("Admin")
    for index in range(3):
        report("sales_rep" if index % 2 else "sales_clerk", month(index))
    at_n = _export_cost(admin, counter)
    for index in range(3, 30):
        report("sales_rep" if index % 2 else "sales_clerk", month(index))
    assert len(read_csv(admin.get(REPORTS.format(fmt="csv") + f"?{MINE}"))) == 31
    at_10n = _export_cost(admin, counter)
    assert at_n == at_10n <= 4  # count, the cursor, the salespeople of the batch (+1 spare for the session)

    view = view_of(app, "WorkReportView")
    per_batch = sum(1 for c in view.export_columns if view.datamodel.is_relation(c))
    costs = {}
    for size in (30, 15, 10):  # one, two, three batches
        monkeypatch.setattr(view, "export_batch_size", size)
        costs[size] = _export_cost(admin, counter)
    assert costs[15] - costs[30] == costs[10] - costs[15] == per_batch == 1


def test_the_export_buttons_cost_the_list_page_no_round_trip(app, as_role, db, counter, monkeypatch):
    clerk = as_role("Clerk")

    def page_cost() -> int:
        clerk.get("/customers/list/")
        counter.reset()
        assert clerk.get("/customers/list/").status_code == 200
        return data_round_trips(counter)

    with_buttons = page_cost()
    monkeypatch.setattr(view_of(app, "CustomerView"), "export_enabled", False)
    assert page_cost() == with_buttons


# ---- every list of the portal --------------------------------------------------------------------------------------
def test_every_list_view_exports_to_csv_and_xlsx_with_its_headers(app, as_role, db):
    admin = as_role("Admin")
    views = [v for v in export_views(app) if v.export_enabled]
    failures = {}
    for view in views:
        expected = [sheets.safe_cell(label) for label in labels(app, view)]
        for fmt, read in (("csv", read_csv), ("xlsx", read_xlsx)):
            url = f"{view.route_base}/export/{fmt}/"
            try:
                response = admin.get(url)
                header = read(response)[0]
            except Exception as exc:  # TESTING propagates errors: any exception is a 500 a user would have seen
                failures[url] = f"{type(exc).__name__}: {exc}"[:300]
                continue
            if header != expected:
                failures[url] = (header, expected)
    assert len(views) > 60 and not failures, failures
