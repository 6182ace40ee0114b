"""Risk, audit and compliance screens as their users work them: journeys, refusals shown in place, the risk matrix
and its click-through, scope, every page rendering, and the round-trip budgets."""

import datetime as dt
import html
import itertools
import re
from decimal import Decimal

import pytest

from models.approvals import Notification
from models.customers import Customer
from models.risk import AuditFinding, ComplianceReview, CreditAssessment, Indicator, Risk
from portal.settings import local_today
from tests.approvals_kit import person, unit
from tests.conftest import data_round_trips
from tests.sales_kit import contract, reload

TODAY = local_today()
DAY = f"{TODAY:%Y-%m-%d}"
_SEQ = itertools.count(1)
_CELL = re.compile(r'data-likelihood="(\d)" data-impact="(\d)" data-count="(\d+)">\s*<a href="([^"]+)"')


def text(response) -> str:
    return response.data.decode()


def a_risk(likelihood=3, impact=3, owner="sales_clerk", **fields) -> Risk:
    values = {"title": f"网页测试风险{next(_SEQ)}", "category": "operational", "response": "reduce",
              "review_on": TODAY + dt.timedelta(days=30), **fields}
    return Risk(likelihood=likelihood, impact=impact, owner=person(owner), **values).save()


def cells(page: str) -> dict:
    """(likelihood, impact) -> (count, link) of the matrix page."""
    return {(int(lk), int(im)): (int(n), html.unescape(url)) for lk, im, n, url in _CELL.findall(page)}


def record_count(page: str) -> int:
    """The number of rows a list page found (FAB's "Record Count")."""
    match = re.search(r"Record Count:</strong>\s*(\d+)", page)
    return int(match.group(1)) if match else 0


def finding(**fields) -> AuditFinding:
    values = {"area": "finance", "finding": "报销单缺少发票原件", "severity": "medium",
              "responsible": person("sales_rep"), "corrective_action": "补齐发票", "due_on": TODAY, **fields}
    return AuditFinding(**values).save()


# ---- journeys ----------------------------------------------------------------------------------------------------
def test_a_salesperson_records_a_risk_with_an_indicator_and_is_told_of_the_breach(as_role, db):
    rep = as_role("Employee")
    form = text(rep.get("/risks/add"))
    assert 'name="likelihood"' in form and 'name="score"' not in form and 'name="level"' not in form
    assert 'name="indicators-0-breached"' not in form  # derived, never typed
    response = rep.post_form("/risks/add", {
        "title": "新客户回款能力存疑", "category": "credit", "likelihood": "4", "impact": "4", "response": "reduce",
        "measures": "要求预付 30%", "owner": str(person("sales_clerk").pk), "review_on": DAY, "status": "open",
        "indicators-0-name": "逾期天数", "indicators-0-threshold": "30", "indicators-0-direction": "above",
        "indicators-0-current": "45"}, follow_redirects=False)
    assert response.status_code == 302, text(response)
    saved = Risk.objects(title="新客户回款能力存疑").first()
    assert (saved.score, saved.level, saved.breached) == (16, "high", True)
    assert saved.owner.pk == person("sales_rep").pk  # a salesperson records their own risks
    assert Notification.objects(kind="risk_breach", recipient=person("sales_rep").pk,
                                link__contains=str(saved.pk)).count() == 1
    page = text(rep.get(f"/risks/show/{saved.pk}"))
    assert "Warning indicator breached: 逾期天数" in page
    listing = text(rep.get("/risks/list/"))
    assert "新客户回款能力存疑" in listing and "Indicator breached" in listing
    assert as_role("service_clerk").get(f"/risks/show/{saved.pk}").status_code == 404  # another unit's risk


def test_bad_ratings_are_answered_next_to_their_fields(as_role, db):
    response = as_role("Clerk").post_form("/risks/add", {
        "title": "x", "category": "credit", "likelihood": "9", "impact": "abc", "response": "reduce",
        "owner": str(person("sales_clerk").pk), "review_on": "2026-02-31", "status": "open"})
    page = text(response)
    assert response.status_code == 200 and "Not a valid integer value." in page and "Not a valid date value." in page
    response = as_role("Clerk").post_form("/risks/add", {
        "title": "x", "category": "credit", "likelihood": "9", "impact": "3", "response": "reduce",
        "owner": str(person("sales_clerk").pk), "review_on": DAY, "status": "open"})
    assert response.status_code == 200 and "Number must be between 1 and 5." in text(response)  # the range
    assert Risk.objects(title="x").count() == 0


def test_the_matrix_counts_live_risks_and_each_cell_opens_exactly_its_risks(as_role, db):
    a_risk(5, 5, title="矩阵风险甲")
    a_risk(5, 5, title="矩阵风险乙", status="monitoring")
    a_risk(5, 5, title="矩阵风险丙", status="closed")
    a_risk(5, 4, title="矩阵风险丁")
    admin = as_role("Admin")
    grid = cells(text(admin.get("/risks/matrix/")))
    assert len(grid) == 25
    count, link = grid[(5, 5)]
    live = Risk.objects(likelihood=5, impact=5, status__ne="closed").count()
    assert count == live >= 2
    assert "_flt_0_likelihood=5" in link and "_flt_0_impact=5" in link and "_flt_1_status=closed" in link
    listing = text(admin.get(link))
    assert "矩阵风险甲" in listing and "矩阵风险乙" in listing
    assert "矩阵风险丙" not in listing and "矩阵风险丁" not in listing  # closed, or another cell
    assert record_count(listing) == count
    for (likelihood, impact), (number, url) in grid.items():  # every cell opens exactly its risks
        assert record_count(text(admin.get(url))) == number, (likelihood, impact)
    assert 'style="background: #ebaaaa; width: 16%" title="5 x 5 = 25"' in text(admin.get("/risks/matrix/"))


def test_the_matrix_shows_only_the_users_scope(as_role, db):
    a_risk(5, 5, owner="service_head")
    mine = Risk.objects(owner_unit__in=[unit("BR-SALES").pk], status__ne="closed").count()
    clerk = cells(text(as_role("Clerk").get("/risks/matrix/")))
    assert sum(n for n, _link in clerk.values()) == mine
    rep = cells(text(as_role("Employee").get("/risks/matrix/")))
    assert sum(n for n, _link in rep.values()) == Risk.objects(owner=person("sales_rep").pk,
                                                               status__ne="closed").count()


def test_finance_assesses_credit_and_the_customer_shows_the_latest_rating(as_role, db):
    client = Customer(name="信用测试客户有限公司", owner=person("sales_clerk"), credit_rating="AAA",
                      credit_limit=Decimal(999999)).save()  # typed before assessments existed
    finance = as_role("Finance")
    data = {"customer": str(client.pk), "rating": "C", "credit_limit": "5000", "assessed_on": DAY,
            "basis": "连续两期逾期"}
    response = finance.post_form("/credit-assessments/add", data)
    assert response.status_code == 200 and "is weak credit" in text(response)  # next to the field
    response = finance.post_form("/credit-assessments/add", {**data, "prepayment_percent": "50"},
                                 follow_redirects=False)
    assert response.status_code == 302, text(response)
    assert (reload(client).credit_rating, reload(client).credit_limit) == ("C", Decimal("5000.00"))
    clerk = as_role("sales_clerk")
    page = text(clerk.get(f"/customers/edit/{client.pk}"))
    assert 'name="name"' in page and 'name="credit_rating"' not in page and 'name="credit_limit"' not in page
    assert "5,000.00" in text(clerk.get(f"/customers/show/{client.pk}"))  # shown, read-only
    assessment = CreditAssessment.objects(customer=client).first()
    assert finance.post_form(f"/credit-assessments/delete/{assessment.pk}", {},
                             f"/credit-assessments/edit/{assessment.pk}").status_code == 302
    assert (reload(client).credit_rating, reload(client).credit_limit) == (None, None)


def test_only_finance_sets_credit_limits_and_units_read_those_of_their_customers_DSC_6_2_3(as_role, db):
    theirs = Customer(name="客服部测试客户有限公司", owner=person("service_clerk")).save()
    clerk = as_role("sales_clerk")
    response = clerk.post("/credit-assessments/add", data={
        "customer": str(theirs.pk), "rating": "A", "credit_limit": "99999999", "assessed_on": DAY, "basis": "自评"})
    assert response.status_code in (302, 400, 403) and CreditAssessment.objects(customer=theirs).count() == 0
    mine = CreditAssessment(customer=theirs, rating="A", credit_limit=Decimal(1000), assessed_on=TODAY,
                            basis="良好").save()
    assert clerk.get(f"/credit-assessments/show/{mine.pk}").status_code == 404
    assert as_role("service_clerk").get(f"/credit-assessments/show/{mine.pk}").status_code == 200


def test_the_responsible_person_reports_a_correction_and_the_auditor_verifies_it(as_role, db):
    auditor = as_role("Auditor")
    response = auditor.post_form("/audit-findings/add", {
        "area": "finance", "finding": "差旅报销超标准未说明", "severity": "high",
        "responsible": str(person("sales_rep").pk), "corrective_action": "补充说明并退回超标部分", "due_on": DAY},
        follow_redirects=False)
    assert response.status_code == 302, text(response)
    item = AuditFinding.objects(finding="差旅报销超标准未说明").first()
    assert item.number.startswith("SJ-") and item.owner_unit.pk == unit("BR-SALES").pk
    assert "/audit-findings/report/" not in text(auditor.get(f"/audit-findings/show/{item.pk}"))
    rep = as_role("Employee")
    show = f"/audit-findings/show/{item.pk}"
    assert "/audit-findings/report/" in text(rep.get(show))
    response = rep.post_form(f"/audit-findings/report/{item.pk}", {"note": ""}, show)
    assert response.status_code == 422 and "Say what was corrected." in text(response)
    assert rep.post_form(f"/audit-findings/report/{item.pk}", {"note": "已退回超标部分"}, show).status_code == 302
    assert rep.get(f"/audit-findings/edit/{item.pk}").status_code in (302, 403)  # only audit edits findings
    assert "/audit-findings/verify/" in text(auditor.get(show))
    assert auditor.post_form(f"/audit-findings/verify/{item.pk}", {"note": "已核实"}, show).status_code == 302
    assert reload(item).status == "verified" and reload(item).verified_by == "吴刚"
    assert as_role("service_clerk").get(show).status_code == 404  # another unit's finding


def test_legal_reviews_a_contract_and_its_unit_reads_the_review(as_role, db):
    signed = contract()
    legal = as_role("Legal")
    form = text(legal.get(f"/compliance-reviews/add?contract={signed.pk}"))
    assert str(signed.pk) in form
    response = legal.post_form("/compliance-reviews/add", {
        "subject_kind": "contract", "contract": str(signed.pk), "reviewer": str(person("legal").pk),
        "opinion": "违约条款对等", "result": "conditional", "conditions": "", "reviewed_on": DAY})
    assert response.status_code == 200 and "State the conditions of the opinion." in text(response)
    response = legal.post_form("/compliance-reviews/add", {
        "subject_kind": "contract", "contract": str(signed.pk), "reviewer": str(person("sales_clerk").pk),
        "opinion": "违约条款对等", "result": "compliant", "reviewed_on": DAY})
    assert response.status_code == 200 and "choose a member of Legal" in text(response)
    response = legal.post_form("/compliance-reviews/add", {
        "subject_kind": "contract", "contract": str(signed.pk), "reviewer": str(person("legal").pk),
        "opinion": "违约条款对等", "result": "compliant", "reviewed_on": DAY}, follow_redirects=False)
    assert response.status_code == 302, text(response)
    review = ComplianceReview.objects(contract=signed).first()
    page = text(as_role("sales_clerk").get(f"/compliance-reviews/show/{review.pk}"))
    assert f"/contracts/show/{signed.pk}" in page  # the review links to its contract
    listing = text(as_role("sales_clerk").get(f"/compliance-reviews/list/?_flt_0_contract={signed.pk}"))
    assert str(review.pk) in listing
    other = ComplianceReview(subject_kind="decision", decision_title="设立杭州仓", owner_unit=unit("BR-OPS"),
                             reviewer=person("legal"), opinion="可行", result="compliant", reviewed_on=TODAY).save()
    assert str(other.pk) not in listing  # the filter keeps this contract's reviews only
    assert as_role("service_clerk").get(f"/compliance-reviews/show/{review.pk}").status_code == 404
    assert as_role("Employee").get("/compliance-reviews/list/").status_code in (302, 403)


# ---- every page of the area renders for Admin ---------------------------------------------------------------------
PAGES = ["/risks/list/", "/risks/add", "/risks/matrix/", "/credit-assessments/list/", "/credit-assessments/add",
         "/audit-findings/list/", "/audit-findings/add", "/compliance-reviews/list/", "/compliance-reviews/add"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_of_risk_audit_and_compliance_renders(as_role, url):
    assert as_role("Admin").get(url).status_code == 200


@pytest.mark.parametrize(("document", "route"), [(Risk, "risks"), (CreditAssessment, "credit-assessments"),
                                                 (AuditFinding, "audit-findings"),
                                                 (ComplianceReview, "compliance-reviews")])
def test_every_demo_record_page_renders(as_role, db, document, route):
    admin = as_role("Admin")
    rows = list(document._get_collection().find({}, {"_id": 1}).limit(20))
    assert rows, "the demo data has records of every kind"
    for raw in rows:
        assert admin.get(f"/{route}/show/{raw['_id']}").status_code == 200
        assert admin.get(f"/{route}/edit/{raw['_id']}").status_code == 200


def test_the_demo_has_a_breached_and_an_overdue_risk(db):
    assert Risk.objects(breached=True).count() >= 1
    assert [r for r in Risk.objects(status__ne="closed") if r.review_overdue]
    assert len({(r.likelihood, r.impact) for r in Risk.objects}) >= 10  # spread over the matrix


# ---- round-trip budgets (PERFORMANCE.md) ---------------------------------------------------------------------------
def test_the_risk_list_does_not_grow_with_the_rows(app, counter, as_role, db):
    admin = as_role("Admin")
    admin.get("/risks/list/")
    counter.reset()
    admin.get("/risks/list/")
    before = data_round_trips(counter)
    Risk.objects.insert([Risk(title=f"批量风险{n}", category="market", likelihood=1 + n % 5, impact=1 + n % 3,
                              response="accept", owner=person("sales_rep"), owner_unit=unit("BR-SALES"),
                              review_on=TODAY, breached=bool(n % 2),
                              indicators=[Indicator(name="x", threshold=Decimal(1), current=Decimal(n))])
                         for n in range(60)], load_bulk=False)
    counter.reset()
    assert admin.get("/risks/list/?psize_RiskView=100").status_code == 200
    assert data_round_trips(counter) == before, str(counter.by_collection())


@pytest.mark.parametrize("role", ["Admin", "Clerk", "Employee"])
def test_the_matrix_is_one_aggregation(counter, as_role, db, role):
    browser = as_role(role)
    browser.get("/risks/matrix/")
    for n in range(20):
        a_risk(1 + n % 5, 1 + n % 4)
    counter.reset()
    assert browser.get("/risks/matrix/").status_code == 200
    assert counter.by_collection().get("risks", 0) == 1, str(counter.by_collection())
    assert data_round_trips(counter) <= 1 + (2 if role == "Clerk" else 0) + 2


@pytest.mark.parametrize("route", ["risks", "credit-assessments", "audit-findings", "compliance-reviews"])
def test_each_record_page_costs_a_fixed_number_of_round_trips(counter, as_role, db, route):
    document = {"risks": Risk, "credit-assessments": CreditAssessment, "audit-findings": AuditFinding,
                "compliance-reviews": ComplianceReview}[route]
    raw = document._get_collection().find_one({})
    admin = as_role("Admin")
    admin.get(f"/{route}/show/{raw['_id']}")
    counter.reset()
    assert admin.get(f"/{route}/show/{raw['_id']}").status_code == 200
    assert data_round_trips(counter) <= 12, str(counter.by_collection())
