"""Sales, stock and agent screens as their users work them: journeys, refusals next to their button, scope, every
page rendering, and the round-trip budgets (the order list at ten times the demo volume, a fixed number of
aggregations for the analysis)."""

import re
from decimal import Decimal

import pytest

from models.agents import ProfitDistribution
from models.products import Shipment
from models.sales import Contract, OrderLine, SalesOrder
from portal import agents
from portal.settings import local_today
from tests.approvals_kit import actor, person, unit
from tests.conftest import data_round_trips, list_budget
from tests.sales_kit import agent, buyer, contract, order, product, reload, stock


def text(response) -> str:
    return response.data.decode()


# ---- journeys ----------------------------------------------------------------------------------------------
def test_sales_clerk_enters_an_order_of_three_lines_under_a_contract_and_sees_its_totals(as_role, db):
    signed = contract()
    goods = [product("1280.00", "760.00"), product("168.00", "72.00"), product("298.00", "150.00")]
    for item in goods:
        stock(item, 100)
    clerk = as_role("Clerk")
    form = text(clerk.get(f"/orders/add?contract={signed.pk}"))
    assert str(signed.customer.pk) in form and signed.number in form  # customer and contract filled in
    data = {"customer": str(buyer().pk), "contract": str(signed.pk), "salesperson": str(person("sales_clerk").pk),
            "ordered_on": f"{local_today():%Y-%m-%d}", "delivery_date": f"{local_today():%Y-%m-%d}",
            "warehouse": "测试仓"}
    for number, (item, quantity, price) in enumerate(zip(goods, (2, 10, 5), ("1280.00", "168.00", "298.00"),
                                                         strict=True)):
        data |= {f"lines-{number}-product": str(item.pk), f"lines-{number}-quantity": str(quantity),
                 f"lines-{number}-unit_price": price}
    response = clerk.post_form("/orders/add", data, follow_redirects=False)
    assert response.status_code == 302, text(response)
    placed = SalesOrder.objects(contract=signed).first()
    assert placed.number.startswith("DD-") and placed.total == Decimal("5730.00")
    page = text(clerk.get(f"/orders/show/{placed.pk}"))
    assert "5,730.00" in page and "2,740.00" in page  # total and gross profit
    response = clerk.post_form(f"/orders/confirm/{placed.pk}", {}, f"/orders/show/{placed.pk}")
    assert response.status_code == 302 and reload(placed).stage == "confirmed"
    assert signed.number in text(clerk.get(f"/contracts/show/{signed.pk}")) and placed.number in text(
        clerk.get(f"/contracts/show/{signed.pk}"))  # the contract lists its orders
    assert placed.number in text(clerk.get(f"/customers/show/{buyer().pk}"))  # and the customer's timeline


def test_legal_approves_the_contract_review_then_the_salesperson_signs(as_role, db):
    draft = contract(status="draft")
    rep = as_role("Employee")
    response = rep.post_form(f"/contracts/submit/{draft.pk}", {}, f"/contracts/show/{draft.pk}")
    assert response.status_code == 302
    request_id = reload(draft).approval
    legal = as_role("Legal")
    assert draft.number in text(legal.get("/approvals/inbox/"))
    url = f"/approvals/request/{request_id}"
    assert legal.post_form(f"{url}/approve", {"comment": "条款合规"}, form_url=url).status_code == 302
    assert reload(draft).status == "approved"
    page = text(rep.get(f"/contracts/show/{draft.pk}"))
    assert "/contracts/sign/" in page
    response = rep.post_form(f"/contracts/sign/{draft.pk}", {"signed_on": "not-a-date"}, f"/contracts/show/{draft.pk}")
    assert response.status_code == 422 and "Give the date of signing." in text(response)
    response = rep.post_form(f"/contracts/sign/{draft.pk}", {"signed_on": f"{local_today():%Y-%m-%d}"},
                             f"/contracts/show/{draft.pk}")
    assert response.status_code == 302 and reload(draft).status == "signed"


def test_an_under_priced_order_is_refused_next_to_the_confirm_button(as_role, db):
    item = product("100.00", tier_price="80.00")
    stock(item, 10)
    cheap = order([(item, 1, "60.00")], seller=agent())
    assert as_role("Clerk").get(f"/orders/show/{cheap.pk}").status_code == 404  # another department's order
    head = as_role("branch_head")
    page = text(head.get(f"/orders/show/{cheap.pk}"))
    assert "below the price list by ¥20.00" in page
    response = head.post_form(f"/orders/confirm/{cheap.pk}", {}, f"/orders/show/{cheap.pk}")
    assert response.status_code == 422 and "portal-action-error" in text(response)
    assert reload(cheap).stage == "pending_review"


def test_the_warehouse_ships_and_customer_service_is_told(as_role, db):
    item = product()
    stock(item, 10)
    placed = order([(item, 2, "100.00")], warehouse="测试仓")
    clerk = as_role("Clerk")
    clerk.post_form(f"/orders/confirm/{placed.pk}", {}, f"/orders/show/{placed.pk}")
    assert "/shipments/add?order=" in text(clerk.get(f"/orders/show/{placed.pk}"))
    from models.products import LogisticsPartner

    response = clerk.post_form("/shipments/add", {"order": str(placed.pk), "warehouse": "测试仓",
                                                  "carrier": str(LogisticsPartner.objects.first().pk)},
                               follow_redirects=False)
    assert response.status_code == 302, text(response)
    sent = Shipment.objects(order=placed).first()
    response = clerk.post_form(f"/shipments/ship/{sent.pk}", {"tracking_no": ""}, f"/shipments/show/{sent.pk}")
    assert response.status_code == 422 and "Enter the tracking number." in text(response)
    response = clerk.post_form(f"/shipments/ship/{sent.pk}", {"tracking_no": "SF777"}, f"/shipments/show/{sent.pk}")
    assert response.status_code == 302 and reload(placed).stage == "shipped"
    service = as_role("service_clerk")
    assert "SF777" in text(service.get("/notifications/"))


def test_an_agent_reads_only_their_own_profit_share(as_role, db):
    order([(product("900.00", tier_price="1.00"), 1, "900.00")], seller=agent(), stage="closed",
          paid_on=local_today())
    shares = agents.compute_lines(ProfitDistribution(period_kind="month", period=f"{local_today():%Y-%m}",
                                                     owner_unit=unit("BR-AGENT")).save(), actor("sales_clerk"))
    ProfitDistribution._get_collection().update_one({"_id": shares.pk}, {"$set": {"status": "approved"}})
    me = as_role("agent")
    page = text(me.get("/profit-distributions/mine/"))
    assert (shares.number in page and "900.00" not in page) or "15.00 %" in page
    assert me.get(f"/profit-distributions/show/{shares.pk}").status_code in (302, 403)
    assert "何丽" not in text(as_role("Employee").get("/profit-distributions/mine/"))


def test_bad_input_on_the_new_pages_is_answered_in_place(as_role, db):
    admin = as_role("Admin")
    response = admin.get("/sales-analysis/?start=2026-02-31&end=x")
    assert response.status_code == 200 and "Enter the dates as 2026-01-31." in text(response)
    assert admin.get("/sales-analysis/?start=2030-01-01&end=2020-01-01").status_code == 200
    response = admin.post_form("/sales-plans/add", {"period_kind": "month", "period": "May",
                                                    "drafted_by": str(person("sales_clerk").pk),
                                                    "amount_target": "1e30", "strategy": "s", "action_plan": "a"})
    page = text(response)
    assert response.status_code == 200 and ("Write the month as 2026-05." in page or "Enter a number" in page)
    assert admin.get("/orders/show/not-an-id").status_code == 404
    response = admin.post_form("/orders/add", {"customer": str(buyer().pk), "salesperson": str(person("sales_rep").pk),
                                               "ordered_on": "2026-05-01", "delivery_date": "2026-04-01",
                                               "lines-0-product": str(product().pk), "lines-0-quantity": "0",
                                               "lines-0-unit_price": "-1"})
    assert response.status_code == 200 and "Number must be between 1 and" in text(response)
    assert "lines-0-amount" not in text(response)  # derived on save, never typed


# ---- every page of the area renders for Admin ------------------------------------------------------------
PAGES = ["/orders/list/", "/orders/add", "/contracts/list/", "/contracts/add", "/contracts/follow-up/",
         "/client-reports/list/", "/client-reports/add", "/sales-plans/list/", "/sales-plans/add",
         "/work-reports/list/", "/work-reports/add", "/sales-analysis/", "/products/list/", "/products/add",
         "/stock/list/", "/stock/add", "/stock/alerts/", "/stock-takes/list/", "/stock-takes/add",
         "/inspections/list/", "/inspections/add", "/suppliers/list/", "/suppliers/add", "/shipments/list/",
         "/shipments/add", "/carriers/list/", "/carriers/add", "/after-sales/list/", "/after-sales/add",
         "/agents/list/", "/agents/add", "/agent-tiers/list/", "/remittances/list/", "/remittances/add",
         "/remittances/balances/", "/profit-distributions/list/", "/profit-distributions/add"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_of_sales_stock_and_agents_renders(as_role, url):
    assert as_role("Admin").get(url).status_code == 200


@pytest.mark.parametrize("document", [Contract, SalesOrder, Shipment, ProfitDistribution])
def test_every_demo_record_page_renders(as_role, db, document):
    admin = as_role("Admin")
    route = {"Contract": "contracts", "SalesOrder": "orders", "Shipment": "shipments",
             "ProfitDistribution": "profit-distributions"}[document.__name__]
    for raw in document._get_collection().find({}, {"_id": 1}).limit(5):
        assert admin.get(f"/{route}/show/{raw['_id']}").status_code == 200


# ---- scope -----------------------------------------------------------------------------------------------
def test_a_salesperson_sees_their_own_orders_and_sales_only(as_role, db):
    mine = order([(product(), 1, "100.00")])
    theirs = order([(product(), 1, "100.00")], seller="sales_clerk")
    rep = as_role("Employee")
    listing = text(rep.get("/orders/list/"))
    assert mine.number in listing and theirs.number not in listing
    assert rep.get(f"/orders/show/{theirs.pk}").status_code == 404
    assert rep.get("/sales-analysis/").status_code == 200


# ---- round-trip budgets (PERFORMANCE.md) -------------------------------------------------------------------
def test_the_order_list_keeps_its_budget_at_ten_times_the_demo_volume(app, counter, as_role, db):
    admin = as_role("Admin")
    admin.get("/orders/list/")
    counter.reset()
    admin.get("/orders/list/")
    at_demo = data_round_trips(counter)
    item, demo = product(), SalesOrder.objects.count()
    rows = [SalesOrder(customer=buyer(), salesperson=person("sales_rep"), ordered_on=local_today(),
                       delivery_date=local_today(), stage="closed", lines=[OrderLine(product=item, quantity=1,
                                                                                       unit_price=Decimal(1))])
            for _ in range(9 * demo)]
    for row in rows:
        row.price_lines()
    SalesOrder.objects.insert(rows, load_bulk=False)
    counter.reset()
    assert admin.get("/orders/list/").status_code == 200
    assert data_round_trips(counter) == at_demo, str(counter.by_collection())
    assert at_demo <= list_budget(app, "/orders/list/", "Admin")


def test_the_sales_analysis_is_a_fixed_number_of_aggregations(counter, as_role, db):
    admin = as_role("Admin")
    admin.get("/sales-analysis/")
    counter.reset()
    admin.get("/sales-analysis/")
    before = counter.by_collection().get("sales_orders", 0)
    item = product()
    for _ in range(30):
        order([(item, 2, "100.00"), (product(), 1, "10.00")], stage="closed")
    counter.reset()
    page = text(admin.get("/sales-analysis/"))
    assert counter.by_collection().get("sales_orders", 0) == before == 4  # one aggregation per breakdown
    assert data_round_trips(counter) <= 4 + 2 + 2  # + names of products and people + navbar
    assert re.search(r"<svg[^>]*>\s*<rect", page)  # bars drawn on the server


