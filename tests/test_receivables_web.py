"""Receivables and income screens as Finance, clerks and salespeople work them: a receivable raised from an order,
a receipt that pays it, collection steps and refusals next to their button, the aging report, scope, every page
rendering, and the round-trip budgets."""

import datetime as dt
from decimal import Decimal

import pytest

from models.receivables import IncomeRecord, Receivable
from portal import sales
from portal.settings import local_today
from tests.approvals_kit import actor, person
from tests.conftest import data_round_trips
from tests.sales_kit import buyer, order, product, reload, stock

TODAY = local_today()


def text(response) -> str:
    return response.data.decode()


def test_finance_raises_a_receivable_from_an_order_and_a_receipt_pays_it(as_role, db):
    item = product()
    stock(item, 5)
    placed = order([(item, 3, "100.00")])
    sales.confirm(placed.pk, actor("sales_clerk"))
    fin = as_role("Finance")
    form = text(fin.get(f"/receivables/add?order={placed.pk}"))
    assert "300.00" in form and placed.number in form  # the amount not yet billed is filled in
    response = fin.post_form("/receivables/add", {
        "customer": str(buyer().pk), "order": str(placed.pk), "owner": str(person("sales_rep").pk),
        "amount": "300.00", "due_date": f"{TODAY + dt.timedelta(days=30):%Y-%m-%d}"}, follow_redirects=False)
    assert response.status_code == 302, text(response)
    owed = Receivable.objects(order=placed).first()
    assert owed.number.startswith("YS-") and owed.outstanding == Decimal("300.00")
    response = fin.post_form("/income/add", {
        "source": "order", "receivable": str(owed.pk), "amount": "300.01", "received_on": f"{TODAY:%Y-%m-%d}",
        "account": "工行基本户"}, form_url=f"/income/add?receivable={owed.pk}")
    assert response.status_code == 200 and "Only 300.00 is outstanding" in text(response)
    assert IncomeRecord.objects(receivable=owed).count() == 0  # nothing half-written
    response = fin.post_form("/income/add", {
        "source": "order", "receivable": str(owed.pk), "amount": "300.00", "received_on": f"{TODAY:%Y-%m-%d}",
        "account": "工行基本户"}, form_url=f"/income/add?receivable={owed.pk}", follow_redirects=False)
    assert response.status_code == 302, text(response)
    assert reload(owed).state == "settled" and reload(placed).paid_on == TODAY
    page = text(fin.get(f"/receivables/show/{owed.pk}"))
    assert IncomeRecord.objects(receivable=owed).first().number in page


def test_a_salesperson_records_a_call_and_a_bad_one_is_refused_in_place(as_role, db):
    owed = Receivable(customer=buyer(), owner=person("sales_rep"), amount=Decimal("500"),
                      due_date=TODAY - dt.timedelta(days=40)).save()
    rep = as_role("Employee")
    page = text(rep.get(f"/receivables/show/{owed.pk}"))
    assert "Overdue by 40 days" in page and "/receivables/collect/" in page
    url = f"/receivables/show/{owed.pk}"
    response = rep.post_form(f"/receivables/collect/{owed.pk}", {"date": "2026-13-01", "method": "phone",
                                                                 "result": "x"}, url)
    assert response.status_code == 422 and "portal-action-error" in text(response)
    response = rep.post_form(f"/receivables/collect/{owed.pk}", {"date": f"{TODAY:%Y-%m-%d}", "method": "visit",
                                                                 "result": "上门拜访，答应分期"}, url)
    assert response.status_code == 302 and reload(owed).actions[0].result == "上门拜访，答应分期"
    assert rep.get("/receivables/add").status_code in (302, 403)  # salespeople chase, Finance raises


def test_a_receipt_is_voided_not_deleted(as_role, db):
    fin = as_role("Finance")
    record = IncomeRecord(source="other", amount=Decimal("50"), received_on=TODAY, account="现金").save()
    assert fin.post_form(f"/income/delete/{record.pk}", {}, f"/income/show/{record.pk}").status_code in (302, 403, 404)
    assert IncomeRecord.objects(pk=record.pk).first() is not None
    url = f"/income/show/{record.pk}"
    assert fin.post_form(f"/income/void/{record.pk}", {"reason": ""}, url).status_code == 422
    assert fin.post_form(f"/income/void/{record.pk}", {"reason": "重复录入"}, url).status_code == 302
    assert reload(record).state == "voided"


def test_the_aging_report_shows_each_customer_in_its_buckets(as_role, db):
    Receivable(customer=buyer(), owner=person("sales_rep"), amount=Decimal("7777.00"),
               due_date=TODAY - dt.timedelta(days=100)).save()
    page = text(as_role("Finance").get("/receivables/aging/"))
    assert buyer().name in page and "7,777.00" in page
    by_person = text(as_role("Finance").get("/receivables/aging/?by=owner"))
    assert person("sales_rep").name in by_person
    assert as_role("Auditor").get("/receivables/aging/").status_code == 200


def test_an_order_over_the_credit_limit_says_so_on_its_page(as_role, db):
    from portal import receivables

    customer = buyer()
    customer.credit_limit = receivables.exposure(customer.pk) + Decimal("100")
    customer.save()
    item = product()
    stock(item, 5)
    clerk = as_role("Clerk")
    data = {"customer": str(customer.pk), "salesperson": str(person("sales_clerk").pk),
            "ordered_on": f"{TODAY:%Y-%m-%d}", "delivery_date": f"{TODAY:%Y-%m-%d}", "warehouse": "测试仓",
            "lines-0-product": str(item.pk), "lines-0-quantity": "2", "lines-0-unit_price": "100.00"}
    assert clerk.post_form("/orders/add", data, follow_redirects=False).status_code == 302
    placed = sorted(customer_orders(customer), key=lambda o: o.created_at)[-1]
    assert placed.over_credit_limit
    page = text(clerk.get(f"/orders/show/{placed.pk}"))
    assert "over their credit limit" in page and "/orders/submit/" in page


def customer_orders(customer):
    from models.sales import SalesOrder

    return list(SalesOrder.objects(customer=customer, stage="pending_review"))


# ---- scope -------------------------------------------------------------------------------------------------
def test_salespeople_see_their_own_receivables_and_clerks_their_units(as_role, db):
    mine = Receivable(customer=buyer(), owner=person("sales_rep"), amount=Decimal("10"), due_date=TODAY).save()
    other = Receivable(customer=buyer(), owner=person("service_clerk"), amount=Decimal("10"), due_date=TODAY).save()
    rep = as_role("Employee")
    assert rep.get(f"/receivables/show/{mine.pk}").status_code == 200
    assert rep.get(f"/receivables/show/{other.pk}").status_code == 404
    assert as_role("Clerk").get(f"/receivables/show/{other.pk}").status_code == 404  # customer service's unit
    assert as_role("Finance").get(f"/receivables/show/{other.pk}").status_code == 200
    assert rep.get("/income/list/").status_code in (302, 403)


# ---- every page renders ------------------------------------------------------------------------------------
PAGES = ["/receivables/list/", "/receivables/add", "/receivables/aging/", "/receivables/aging/?by=owner",
         "/income/list/", "/income/add"]


@pytest.mark.parametrize("url", PAGES)
def test_every_receivables_page_renders(as_role, url):
    assert as_role("Admin").get(url).status_code == 200


def test_every_demo_receivable_and_receipt_page_renders(as_role, db):
    admin = as_role("Admin")
    for document, route in ((Receivable, "receivables"), (IncomeRecord, "income")):
        for raw in document._get_collection().find({}, {"_id": 1}).limit(8):
            assert admin.get(f"/{route}/show/{raw['_id']}").status_code == 200


# ---- round-trip budgets ------------------------------------------------------------------------------------
def test_the_aging_report_is_one_aggregation_however_many_receivables(counter, as_role, db):
    fin = as_role("Finance")
    fin.get("/receivables/aging/")
    counter.reset()
    fin.get("/receivables/aging/")
    before = data_round_trips(counter)
    for days in range(30):
        Receivable(customer=buyer(), owner=person("sales_rep"), amount=Decimal("10"),
                   due_date=TODAY - dt.timedelta(days=days * 7)).save()
    counter.reset()
    fin.get("/receivables/aging/")
    assert counter.by_collection().get("receivables", 0) == 1
    assert data_round_trips(counter) == before
