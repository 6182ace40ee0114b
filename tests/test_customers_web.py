"""The market and customer screens as their users work them: journeys of service and sales clerks and the sales
head, scope, masked contacts, search-as-you-type, errors next to fields, and the round-trip budgets."""

import datetime as dt
import re

import pytest

from models.approvals import ApprovalRequest, Notification
from models.customers import Complaint, Contact, Customer, CustomerVisit, Inquiry, Negotiation, ReturnVisit
from models.market import MarketExpansionPlan
from models.org import Employee
from portal.settings import local_today, to_local
from tests.approvals_kit import person, unit
from tests.conftest import data_round_trips

NOW = f"{to_local(dt.datetime.now(dt.UTC).replace(tzinfo=None)):%Y-%m-%d %H:%M}"


def customer(name="温州顺达贸易有限公司", owner="sales_rep", **fields) -> Customer:
    fields.setdefault("contacts", [Contact(name="郑强", phone="13955556666", email="zheng@shunda.example")])
    return Customer(name=name, owner=person(owner), **fields).save()


def pk_from(response) -> str:
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def text(response) -> str:
    return response.data.decode()


# ---- journeys ----------------------------------------------------------------------------------------------
def test_service_clerk_records_inquiry_and_complaint_answers_it_and_completes_a_return_visit(as_role, db):
    clerk = as_role("service_clerk")
    who = customer()
    response = clerk.post_form("/inquiries/add", {"customer": str(who.pk), "channel": "phone", "topic": "price",
                                                  "content": "有没有批量折扣？", "answer": "满 500 件 95 折",
                                                  "received_at": NOW}, follow_redirects=False)
    assert response.status_code == 302, text(response)
    inquiry = Inquiry.objects(customer=who).first()
    assert inquiry.handled_by == person("service_clerk") and inquiry.owner_unit == unit("BR-CS")

    response = clerk.post_form("/complaints/add", {
        "customer": str(who.pk), "channel": "phone", "received_at": NOW, "content": "包装破损", "category": "delivery",
        "severity": "critical", "responsible_unit": str(unit("BR-SALES").pk),
        "handler": str(person("service_clerk").pk),
    }, follow_redirects=False)
    assert response.status_code == 302, text(response)
    complaint = Complaint.objects(customer=who).first()
    assert complaint.number.startswith("TS-") and complaint.response_hours == 4
    told = {n.recipient for n in Notification.objects(kind="complaint_assigned", link__contains=str(complaint.pk))}
    assert told == {person("sales_head").pk}  # the responsible department's head; the handler entered it
    page = text(clerk.get(f"/complaints/show/{complaint.pk}"))
    assert "Respond by" in page and complaint.number in page

    url = f"/complaints/handle/{complaint.pk}"
    form = f"/complaints/show/{complaint.pk}"
    assert clerk.post_form(url, {"action": "log", "text": "已联系物流"}, form).status_code == 302
    assert clerk.post_form(url, {"action": "answer", "text": "已补发三箱"}, form).status_code == 302
    assert clerk.post_form(url, {"action": "close", "satisfaction": "satisfied", "text": ""}, form).status_code == 302
    stored = Complaint.objects(pk=complaint.pk).first()
    assert stored.status == "closed" and stored.on_time and [s.action for s in stored.log] == [
        "received", "note", "answer", "close"]

    response = clerk.post_form("/return-visits/add", {"customer": str(who.pk), "owner": str(person("service_clerk").pk),
                                                      "planned_on": f"{local_today():%Y-%m-%d}", "method": "phone",
                                                      "status": "planned"}, follow_redirects=False)
    assert response.status_code == 302, text(response)
    visit = ReturnVisit.objects(customer=who).first()
    edit = f"/return-visits/edit/{visit.pk}"
    response = clerk.post_form(edit, {"customer": str(who.pk), "owner": str(person("service_clerk").pk),
                                      "planned_on": f"{local_today():%Y-%m-%d}", "method": "phone", "status": "done",
                                      "findings": "使用正常，希望增加颜色", "forwarded_to": str(unit("BR-OPS").pk),
                                      "version": "0"}, follow_redirects=False)
    assert response.status_code == 302, text(response)
    done = ReturnVisit.objects(pk=visit.pk).first()
    assert done.status == "done" and done.done_on == local_today() and done.follow_up_state == "open"


def test_sales_clerk_creates_a_customer_and_plans_and_completes_a_visit_with_minutes(as_role, db):
    clerk = as_role("sales_clerk")
    response = clerk.post_form("/customers/add", {
        "name": "嘉兴恒通电器有限公司", "kind": "company", "region": "浙江嘉兴", "source": "exhibition",
        "status": "lead", "owner": str(person("sales_clerk").pk), "customer_class": "B",
        "contacts-0-name": "吴经理", "contacts-0-phone": "13600001234", "contacts-0-email": "wu@hengtong.example",
    }, follow_redirects=False)
    assert response.status_code == 302, text(response)
    who = Customer.objects(name="嘉兴恒通电器有限公司").first()
    assert who.code.startswith(f"KH-{local_today().year}-") and who.owner_unit == unit("BR-SALES")
    assert who.last_verified_on == local_today() and who.contacts[0].phone == "13600001234"

    page = text(clerk.get(f"/customer-visits/add?customer={who.pk}"))
    assert who.code in page  # the customer comes from the customer page's link
    response = clerk.post_form("/customer-visits/add", {
        "customer": str(who.pk), "owner": str(person("sales_clerk").pk), "purpose": "介绍新品", "place": "客户公司",
        "planned_at": NOW, "materials": "公司简介、产品手册", "status": "planned"}, follow_redirects=False)
    assert response.status_code == 302, text(response)
    visit = CustomerVisit.objects(customer=who).first()
    done = {"customer": str(who.pk), "owner": str(person("sales_clerk").pk), "purpose": "介绍新品", "place": "客户公司",
            "planned_at": NOW, "status": "done", "version": "0"}
    page = text(clerk.post_form(f"/customer-visits/edit/{visit.pk}", done))
    assert "Write up the visit before marking it done" in page  # next to the field, the input kept
    response = clerk.post_form(f"/customer-visits/edit/{visit.pk}",
                               {**done, "outcome": "客户有采购意向", "intention": "high", "next_step": "报价"},
                               follow_redirects=False)
    assert response.status_code == 302, text(response)

    page = text(clerk.get(f"/negotiations/add?visit={visit.pk}"))
    assert who.code in page and str(visit.pk) in page
    response = clerk.post_form("/negotiations/add", {
        "customer": str(who.pk), "visit": str(visit.pk), "owner": str(person("sales_clerk").pk),
        "held_on": f"{local_today():%Y-%m-%d}", "participants": "陈静；吴经理", "proposal": "首批 300 台",
        "price": "199.00", "delivery_time": "15 天", "consensus": "价格认可", "next_actions": "下周签合同"},
        follow_redirects=False)
    assert response.status_code == 302, text(response)
    assert Negotiation.objects(visit=visit.pk).first().price == 199
    page = text(clerk.get(f"/customers/show/{who.pk}"))
    assert "首批 300 台" in page and "介绍新品" in page  # both on the customer's timeline


def test_sales_head_approves_an_expansion_plan_which_then_goes_to_the_branch_head(as_role, db):
    clerk = as_role("sales_clerk")
    response = clerk.post_form("/expansion-plans/add", {
        "year": str(local_today().year + 1), "title": "下年度华东市场拓展计划",
        "drafted_by": str(person("sales_clerk").pk), "targets": "新增客户 60 家", "regions": "浙江\n江苏",
        "customer_groups": "中小商超", "approaches": "展会、线上推广",
        "schedule": "Q1 调研，Q2 推广"}, follow_redirects=False)
    assert response.status_code == 302, text(response)
    plan = MarketExpansionPlan.objects(title="下年度华东市场拓展计划").first()
    assert plan.regions == ["浙江", "江苏"] and plan.number.startswith("JH-")
    submitted = clerk.post_form(f"/expansion-plans/submit/{plan.pk}", {}, f"/expansion-plans/show/{plan.pk}")
    assert submitted.status_code == 302

    head = as_role("sales_head")
    assert plan.title in text(head.get("/approvals/inbox/"))
    request_id = MarketExpansionPlan.objects(pk=plan.pk).first().approval
    page = f"/approvals/request/{request_id}"
    assert head.post_form(f"{page}/approve", {"comment": "同意"}, page).status_code == 302
    raw = ApprovalRequest._get_collection().find_one({"_id": request_id})
    assert raw["state"] == "pending" and raw["current_approver"] == person("branch_head").pk
    assert plan.title in text(as_role("branch_head").get("/approvals/inbox/"))


# ---- scope ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("username", ["service_clerk", "hr", "sales_rep"])
def test_a_clerk_of_another_department_cannot_see_or_change_customers(as_role, db, username):
    who = customer(owner="sales_clerk")
    other = as_role(username)
    assert other.get(f"/customers/show/{who.pk}").status_code == 404
    assert other.get(f"/customers/edit/{who.pk}").status_code in (403, 404, 302)
    assert who.name not in text(other.get("/customers/list/"))
    token = other.token("/resetmypassword/form")
    for url in (f"/customers/edit/{who.pk}", f"/customers/delete/{who.pk}", f"/customers/verify/{who.pk}"):
        response = other.post(url, {"csrf_token": token, "name": "改名"})
        assert response.status_code in (302, 403, 404)
    assert Customer.objects(pk=who.pk).first().name == who.name


def test_the_responsible_department_sees_its_complaints_others_do_not(as_role, db):
    who = customer()
    complaint = Complaint(customer=who, content="服务态度差", responsible_unit=unit("BR-SALES"),
                          owner_unit=unit("BR-CS"), response_hours=72).save()
    assert as_role("sales_clerk").get(f"/complaints/show/{complaint.pk}").status_code == 200
    assert as_role("service_clerk").get(f"/complaints/show/{complaint.pk}").status_code == 200
    assert as_role("hr").get(f"/complaints/show/{complaint.pk}").status_code == 404


def test_the_timeline_links_only_what_the_viewer_may_open_DSC_7_1_1(as_role, db):
    who = customer(owner="sales_clerk")
    inquiry = Inquiry(customer=who, content="何时到货？", owner_unit=unit("BR-CS")).save()
    page = text(as_role("sales_clerk").get(f"/customers/show/{who.pk}"))
    # a record of customer service: its kind, date and state are listed; its content is not shown
    assert "(kept by another department)" in page and "何时到货？" not in page
    assert f"/inquiries/show/{inquiry.pk}" not in page
    page = text(as_role("Admin").get(f"/customers/show/{who.pk}"))
    assert f"/inquiries/show/{inquiry.pk}" in page and "何时到货？" in page


# ---- confidentiality (DSC 7(1)2) ------------------------------------------------------------------------------
@pytest.mark.parametrize(("username", "full"), [("sales_rep", True), ("sales_head", True), ("sales_clerk", False),
                                                ("finance", False), ("auditor", False)])
def test_customer_page_masks_contacts_for_all_but_owner_and_heads_DSC_7_1_2(as_role, db, username, full):
    who = customer(owner="sales_rep")
    page = text(as_role(username).get(f"/customers/show/{who.pk}"))
    assert ("13955556666" in page) is full and ("zheng@shunda.example" in page) is full
    if not full:
        assert "139****6666" in page and "z***@shunda.example" in page


def test_an_edit_by_someone_who_sees_masked_contacts_keeps_the_numbers_DSC_7_1_2(as_role, db):
    who = customer(owner="sales_rep")
    clerk = as_role("sales_clerk")
    form = text(clerk.get(f"/customers/edit/{who.pk}"))
    assert "139****6666" in form and "13955556666" not in form
    response = clerk.post_form(f"/customers/edit/{who.pk}", {
        "name": who.name, "kind": "company", "source": "other", "status": "prospect",
        "owner": str(person("sales_rep").pk),
        "contacts-0-name": "郑强", "contacts-0-phone": "139****6666", "contacts-0-email": "z***@shunda.example",
        "contacts-1-name": "新同事", "contacts-1-phone": "13500001111", "version": "0"}, follow_redirects=False)
    assert response.status_code == 302, text(response)
    stored = Customer.objects(pk=who.pk).first()
    assert stored.status == "prospect"
    assert [(c.phone, c.email) for c in stored.contacts] == [("13955556666", "zheng@shunda.example"),
                                                             ("13500001111", None)]


def test_a_contact_needs_an_owner_to_be_a_key_account_and_errors_show_next_to_fields(as_role, db):
    page = text(as_role("sales_clerk").post_form("/customers/add", {
        "name": "重点客户测试公司", "kind": "company", "source": "other", "status": "lead",
        "owner": str(person("sales_clerk").pk), "key_account": "y", "contacts-0-name": "甲",
        "contacts-0-phone": "not a phone"}))
    assert "A key account needs a dedicated owner" in page
    assert "重点客户测试公司" in page  # the input is kept
    assert Customer.objects(name="重点客户测试公司").first() is None


def test_twin_masked_contacts_keep_their_own_numbers_DSC_7_1_2(as_role, db):
    who = customer(owner="sales_rep", contacts=[Contact(name="王", phone="13812345678", email="wang@twin.example"),
                                                Contact(name="吴", phone="13899995678", email="wu@twin.example")])
    clerk = as_role("sales_clerk")
    response = clerk.post_form(f"/customers/edit/{who.pk}", {
        "name": who.name, "kind": "company", "source": "other", "status": "lead", "owner": str(person("sales_rep").pk),
        "contacts-0-name": "王", "contacts-0-phone": "138****5678", "contacts-0-email": "w***@twin.example",
        "contacts-1-name": "吴", "contacts-1-phone": "138****5678", "contacts-1-email": "w***@twin.example",
        "version": "0"}, follow_redirects=False)
    assert response.status_code == 302, text(response)
    assert [(c.phone, c.email) for c in Customer.objects(pk=who.pk).first().contacts] == [
        ("13812345678", "wang@twin.example"), ("13899995678", "wu@twin.example")]


@pytest.mark.parametrize("change", [{"owner": "sales_clerk"}, {"key_account": "y", "key_owner": "sales_clerk"}])
def test_someone_who_sees_masked_contacts_cannot_take_the_customer_over_DSC_7_1_2(as_role, db, change):
    who = customer(owner="sales_rep")
    data = {"name": who.name, "kind": "company", "source": "other", "status": "lead",
            "owner": str(person("sales_rep").pk), "contacts-0-name": "郑强", "contacts-0-phone": "139****6666",
            "version": "0"}
    data.update({k: (str(person(v).pk) if k.endswith("owner") else v) for k, v in change.items()})
    page = text(as_role("sales_clerk").post_form(f"/customers/edit/{who.pk}", data))
    assert "can hand this customer over" in page
    stored = Customer.objects(pk=who.pk).first()
    assert stored.owner == person("sales_rep") and not stored.key_account


def test_a_dedicated_owner_edits_without_becoming_the_owner_BRD_3_4_3(as_role, db):
    who = customer(owner="sales_clerk", key_account=True, key_owner=person("sales_rep"))
    rep = as_role("sales_rep")  # Employee role: sees the file as its dedicated owner
    response = rep.post_form(f"/customers/edit/{who.pk}", {
        "name": who.name, "kind": "company", "source": "other", "status": "active",
        "owner": str(person("sales_clerk").pk), "key_account": "y", "key_owner": str(person("sales_rep").pk),
        "contacts-0-name": "郑强", "contacts-0-phone": "13955556666", "version": "0"}, follow_redirects=False)
    assert response.status_code == 302, text(response)
    stored = Customer.objects(pk=who.pk).first()
    assert stored.status == "active" and stored.owner == person("sales_clerk")


def test_field_staff_keep_their_records_in_their_own_unit(as_role, db):
    who = customer(owner="sales_rep")
    stranger = Employee.objects(owner_unit=unit("DSC-SH-CS")).first()
    response = as_role("sales_rep").post_form("/customer-visits/add", {
        "customer": str(who.pk), "owner": str(stranger.pk), "purpose": "回访", "place": "客户处", "planned_at": NOW,
        "status": "planned", "intention": ""}, follow_redirects=False)
    assert response.status_code == 302, text(response)
    visit = CustomerVisit.objects(customer=who).first()
    assert visit.owner == person("sales_rep") and visit.owner_unit == unit("BR-SALES")


def test_a_clerk_cannot_put_a_budget_into_another_unit(as_role, db):
    from models.finance import Budget

    page = as_role("sales_clerk").post_form("/budgetview/add", {
        "year": str(local_today().year), "owner_unit": str(unit("BR-HR").pk), "kind": "expense",
        "category": "travel", "annual_amount": "400", "quarters": ["100", "100", "100", "100"]})
    assert page.status_code == 200 and "outside your scope" in text(page)
    assert not Budget.objects(owner_unit=unit("BR-HR"), annual_amount=400).first()


def test_a_rescheduled_visit_is_reminded_again_BRD_5_3_1(db):
    from models.common import utcnow
    from portal import customers as service

    visit = CustomerVisit(customer=customer(), owner=person("sales_rep"), purpose="拜访", place="客户处",
                          planned_at=utcnow() + dt.timedelta(hours=2), owner_unit=unit("BR-SALES")).save()
    assert service.visit_reminders(utcnow())
    visit.reload()
    visit.planned_at = utcnow() + dt.timedelta(hours=5)
    visit.save()
    assert [s.kind for s in service.visit_reminders(utcnow())] == ["visit_due"]


# ---- search-as-you-type (PERFORMANCE.md) ------------------------------------------------------------------------
def test_customer_lookup_answers_names_and_numbers_only(as_role, db):
    who = customer()
    clerk = as_role("service_clerk")
    data = clerk.get("/lookup/customer/?q=顺达").get_json()
    assert {"id": str(who.pk), "text": f"{who.name} ({who.code})"} in data["results"]
    assert "13955556666" not in str(data) and data["pagination"] == {"more": False}
    assert clerk.get(f"/lookup/customer/?q={who.code}").get_json()["results"][0]["id"] == str(who.pk)
    assert clerk.get("/lookup/customer/?q=").get_json()["results"] == []
    assert clerk.get("/lookup/nothing/?q=a").status_code == 404
    assert clerk.get("/lookup/customer/?q=.*&page=-5").status_code == 200  # regex characters are literal


@pytest.mark.parametrize(("username", "sees"), [("sales_rep", True), ("hr", False)])
def test_field_staff_pick_only_their_own_customers(as_role, db, username, sees):
    mine, other = customer("我的客户有限公司", owner="sales_rep"), customer("别人的客户有限公司", owner="sales_clerk")
    browser = as_role(username)
    names = [r["text"] for r in browser.get("/lookup/customer/?q=客户有限公司").get_json()["results"]]
    assert (mine.name in " ".join(names)) is sees and other.name not in " ".join(names)
    assert other.code not in text(browser.get(f"/customer-visits/add?customer={other.pk}"))


def test_a_link_to_a_visit_out_of_scope_prefills_nothing(as_role, db):
    visit = CustomerVisit(customer=customer(), owner=person("sales_clerk"), purpose="机密拜访", place="x",
                          planned_at=dt.datetime(2026, 1, 5, 2, 0), owner_unit=unit("BR-SALES")).save()
    page = text(as_role("service_clerk").get(f"/negotiations/add?visit={visit.pk}"))
    assert visit.customer.code not in page and "机密拜访" not in page


def test_lookup_pages_through_many_matches(as_role, db):
    Customer.objects.insert([Customer(name=f"批量客户{i:03d}", code=f"ZZ-{i:04d}", owner=person("sales_rep"),
                                      owner_unit=unit("BR-SALES")) for i in range(45)], load_bulk=False)
    clerk = as_role("service_clerk")
    first = clerk.get("/lookup/customer/?q=批量客户").get_json()
    third = clerk.get("/lookup/customer/?q=批量客户&page=3").get_json()
    assert len(first["results"]) == 20 and first["pagination"]["more"]
    assert len(third["results"]) == 5 and not third["pagination"]["more"]


def test_customer_selects_never_list_the_whole_collection(as_role, db):
    who = customer()
    page = text(as_role("service_clerk").get("/complaints/add"))
    assert 'class="form-control portal-lookup"' in page and who.name not in page
    assert "批量" not in page


def test_a_made_up_customer_id_gets_a_message_not_an_error(as_role, db):
    page = as_role("service_clerk").post_form("/inquiries/add", {"customer": "000000000000000000000000",
                                                                 "channel": "phone", "topic": "price",
                                                                 "content": "x", "received_at": NOW})
    assert page.status_code == 200 and "Choose an entry from the list." in text(page)
    page = as_role("service_clerk").post_form("/inquiries/add", {"customer": "<script>", "content": "x",
                                                                 "received_at": "yesterday"})
    assert page.status_code == 200 and "Enter a date and time like" in text(page)
    page = as_role("service_clerk").post_form("/inquiries/add", {"content": "x", "received_at": "0001-01-01 00:00"})
    assert page.status_code == 200 and "Enter a date and time like" in text(page)


def test_lists_filter_by_customer_name(as_role, db):
    who, other = customer(), customer("丽水远航有限公司", owner="sales_clerk")
    for c in (who, other):
        Inquiry(customer=c, content=f"问题 {c.name}", owner_unit=unit("BR-CS")).save()
    page = text(as_role("service_clerk").get("/inquiries/list/?_flt_0_customer=顺达"))
    assert who.name in page and other.name not in page


# ---- complaint page: errors next to the field --------------------------------------------------------------
def test_an_empty_answer_is_refused_next_to_the_field_and_nothing_changes(as_role, db):
    complaint = Complaint(customer=customer(), content="质量问题", responsible_unit=unit("BR-SALES"),
                          owner_unit=unit("BR-CS"), response_hours=72).save()
    clerk = as_role("service_clerk")
    response = clerk.post_form(f"/complaints/handle/{complaint.pk}", {"action": "answer", "text": "  "},
                               f"/complaints/show/{complaint.pk}")
    assert response.status_code == 422 and "Write the result given to the customer." in text(response)
    assert Complaint.objects(pk=complaint.pk).first().status == "open"
    response = clerk.post_form(f"/complaints/handle/{complaint.pk}", {"action": "explode"},
                               f"/complaints/show/{complaint.pk}")
    assert response.status_code == 400


def test_survey_response_form_has_one_line_per_question(as_role, db):
    from models.customers import SatisfactionSurvey

    survey = SatisfactionSurvey(title="网页调查", period_start=local_today(), period_end=local_today(),
                                questions=["产品质量", "服务态度"], owner_unit=unit("BR-CS")).save()
    clerk = as_role("service_clerk")
    page = text(clerk.get(f"/survey-responses/add?survey={survey.pk}"))
    assert 'value="产品质量"' in page and 'value="服务态度"' in page
    who = customer()
    response = clerk.post_form("/survey-responses/add", {
        "survey": str(survey.pk), "customer": str(who.pk), "answered_on": f"{local_today():%Y-%m-%d}",
        "scores-0-question": "产品质量", "scores-0-score": "5", "scores-1-question": "服务态度", "scores-1-score": "9"})
    assert response.status_code == 200 and "Number must be between 1 and 5" in text(response)
    response = clerk.post_form("/survey-responses/add", {
        "survey": str(survey.pk), "customer": str(who.pk), "answered_on": f"{local_today():%Y-%m-%d}",
        "scores-0-question": "产品质量", "scores-0-score": "5", "scores-1-question": "服务态度", "scores-1-score": "3"},
        follow_redirects=False)
    assert response.status_code == 302, text(response)
    analysis = text(clerk.get(f"/surveys/show/{survey.pk}"))
    assert re.search(r"1 responses|1 份", analysis) and "4.00" in analysis


# ---- round-trip budgets (PERFORMANCE.md) -------------------------------------------------------------------
def test_the_customer_page_costs_a_fixed_number_of_round_trips(counter, as_role, db):
    who = customer()
    for n in range(30):
        Inquiry(customer=who, content=f"问题{n}", owner_unit=unit("BR-CS")).save()
    admin = as_role("Admin")
    admin.get(f"/customers/show/{who.pk}")
    counter.reset()
    assert admin.get(f"/customers/show/{who.pk}").status_code == 200
    data = data_round_trips(counter)
    # record, its references, history, one query per kind on the timeline, the setting
    assert data <= 16, str(counter.by_collection())
