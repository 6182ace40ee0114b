"""Rules of DOMAIN 3.4 (products, stock and logistics), one test per rule, named after its clause."""

import datetime as dt

import pytest
from mongoengine import ValidationError

from models.approvals import Notification
from models.customers import Customer
from models.products import (
    AfterSalesTicket,
    QualityInspection,
    Shipment,
    StockItem,
    StockTake,
    TakeLine,
    TierPrice,
)
from portal import products, reminders, sales
from portal.approvals import Refused
from portal.settings import local_today
from tests.approvals_kit import actor, fields_of, person, unit
from tests.sales_kit import order, product, reload, stock, tier


def confirmed(item, quantity=2, **fields):
    placed = order([(item, quantity, "100.00")], **fields)
    sales.confirm(placed.pk, actor("sales_clerk"))
    return reload(placed)


def shipment_for(placed) -> Shipment:
    from models.products import LogisticsPartner

    prepared = Shipment(order=placed, warehouse="测试仓", carrier=LogisticsPartner.objects.first(),
                        owner_unit=unit("BR-OPS"))
    products.check_new_shipment(prepared)
    return prepared.save()


def test_a_product_has_one_price_per_tier_MIC_產品定價_1(db):
    with pytest.raises(ValidationError) as raised:
        product(tier_prices=[TierPrice(tier=tier(1), price=1), TierPrice(tier=tier(1), price=2)])
    assert "tier_prices" in fields_of(raised)


def test_stock_below_its_reorder_level_is_flagged_for_replenishment_DSC_3_4_2(db):
    row = stock(product(), 5, reorder=10, max_level=100)
    assert row.replenish and not row.overstock and row.available == 5
    row.quantity = 150
    row.save()
    assert not reload(row).replenish and reload(row).overstock  # above the maximum: DSC 5(3)2


def test_slow_moving_stock_needs_a_disposal_decision_MIC_產品庫存管理_3(db):
    old = stock(product(), 5, received_on=local_today() - dt.timedelta(days=200))
    assert old.slow_moving(local_today(), 90)
    alerts = {a["key"]: [r["_id"] for r in a["rows"]] for a in products.alerts({}, local_today())}
    assert old.pk in alerts["slow"]
    with pytest.raises(ValidationError) as raised:
        old.disposal = "discount"
        old.save()
    assert "disposal_note" in fields_of(raised)


def test_stock_alerts_are_reminded_to_the_units_head_once_DSC_3_4_2(db):
    row = stock(product(), 1, reorder=10)
    sent = [s for s in reminders.run()[0] if s.kind == "stock_low"]
    told = [n.recipient for n in Notification.objects(kind="stock_low", link__contains=str(row.pk))]
    assert sent and told == [person("branch_head").pk]  # 运营管理部 has no head: the branch leader
    assert not [s for s in reminders.run()[0] if s.kind == "stock_low" and str(row.pk) in s.title]
    assert Notification.objects(kind="stock_low", link__contains=str(row.pk)).count() == 1


def test_a_failed_batch_is_held_and_cannot_ship_until_its_disposal_is_recorded_MIC_產品質量控制_3(db):
    item = product()
    row = stock(item, 10, batch="B-BAD")
    placed = confirmed(item, 2)
    prepared = shipment_for(placed)
    failed = QualityInspection(product=item, batch="B-BAD", stage="outgoing", inspector=person("sales_clerk"),
                               inspected_on=local_today(), result="fail", defects="外观划伤",
                               owner_unit=unit("BR-OPS")).save()
    assert products.apply_inspection(failed) == 10
    assert reload(row).held and reload(row).available == 0
    with pytest.raises(Refused) as refused:
        products.ship(prepared.pk, actor("sales_clerk"), "SF001")
    assert "B-BAD" in str(refused.value.message)
    assert reload(placed).stage == "confirmed" and reload(row).quantity == 10  # nothing half-done
    with pytest.raises(Refused):  # units are reserved: scrapping them would strand the order
        products.dispose(failed.pk, actor("sales_clerk"), "scrap", "质检经理决定报废")
    products.dispose(failed.pk, actor("sales_clerk"), "concession", "客户同意让步接收")
    assert not reload(row).held and reload(row).available == 8
    assert products.ship(prepared.pk, actor("sales_clerk"), "SF001")["status"] == "shipped"


def test_a_failed_inspection_lists_its_defects_and_new_stock_of_the_batch_starts_held_MIC_產品質量控制_1(db):
    item = product()
    with pytest.raises(ValidationError) as raised:
        QualityInspection(product=item, batch="X1", inspector=person("sales_clerk"), inspected_on=local_today(),
                          result="fail").save()
    assert "defects" in fields_of(raised)
    QualityInspection(product=item, batch="X1", inspector=person("sales_clerk"), inspected_on=local_today(),
                      result="fail", defects="异味").save()
    arriving = StockItem(product=item, warehouse="测试仓", batch="X1", quantity=5, owner_unit=unit("BR-OPS"))
    products.hold_if_failed(arriving)
    arriving.save()
    assert reload(arriving).held and reload(arriving).available == 0


def test_shipping_takes_the_stock_and_tells_customer_service_the_tracking_number_MIC_發貨流程_3(db):
    item = product()
    row = stock(item, 10)
    placed = confirmed(item, 4)
    prepared = shipment_for(placed)
    with pytest.raises(Refused):
        shipment_for(placed)  # one shipment under way per order
    with pytest.raises(Refused):
        products.ship(prepared.pk, actor("sales_clerk"), " ")
    products.ship(prepared.pk, actor("sales_clerk"), "SF9988")
    assert reload(row).quantity == 6 and reload(row).reserved == 0 and reload(row).last_shipped_on == local_today()
    assert reload(placed).stage == "shipped" and reload(placed).reservations == []
    note = Notification.objects(kind="shipped", recipient=person("service_clerk").pk,
                                link__contains=str(placed.pk)).first()
    assert note is not None and note.params["tracking"] == "SF9988"
    products.report_exception(prepared.pk, actor("sales_clerk"), "外箱破损")
    products.deliver(prepared.pk, actor("sales_clerk"))
    assert reload(placed).stage == "delivered" and reload(prepared).status == "delivered"
    assert "外箱破损" in reload(prepared).exceptions


def test_a_stock_takes_variance_is_computed_and_posted_after_review_MIC_產品庫存管理_2(db):
    item = product()
    row = stock(item, 10, warehouse="盘点仓", batch="")
    take = StockTake(warehouse="盘点仓", taken_on=local_today(), counted_by=person("sales_clerk"),
                     owner_unit=unit("BR-OPS")).save()
    products.load_book(take)
    take = reload(take)
    assert [(line.book_quantity, line.counted_quantity, line.variance) for line in take.lines] == [(10, 10, 0)]
    take.lines[0].counted_quantity = 7
    take.save()
    assert reload(take).lines[0].variance == -3 and reload(take).net_variance == -3
    take.state = "reviewed"
    take.reviewed_by = person("sales_clerk")
    with pytest.raises(ValidationError) as raised:
        take.save()
    assert fields_of(raised) & {"reviewed_by", "lines"}
    take = reload(take)
    take.lines[0].explanation = "破损 3 件未登记"
    take.state, take.reviewed_by = "reviewed", person("sales_head")
    take.save()
    products.post_take(take.pk, actor("sales_head"))
    assert reload(row).quantity == 7 and reload(row).available == 7 and reload(take).state == "posted"
    with pytest.raises(Refused):
        products.post_take(take.pk, actor("sales_head"))  # never twice


def test_after_sales_kind_outcome_and_satisfaction_MIC_售后問題處理流程_2_3(db):
    buyer = Customer.objects(name="杭州瑞丰贸易有限公司").first()
    with pytest.raises(ValidationError) as raised:
        AfterSalesTicket(customer=buyer, kind="return", description="坏了", deadline=local_today()).save()
    assert "product" in fields_of(raised)
    ticket = AfterSalesTicket(customer=buyer, kind="support", description="不会安装", handler=person("service_clerk"),
                              deadline=local_today() - dt.timedelta(days=1), owner_unit=unit("BR-CS")).save()
    assert ticket.late
    products.add_ticket_action(ticket.pk, actor("service_clerk"), "电话指导安装")
    assert reload(ticket).status == "in_progress" and reload(ticket).actions[0].text == "电话指导安装"
    ticket = reload(ticket)
    ticket.status = "closed"
    ticket.result, ticket.resolved_on = "已安装完成", local_today()
    with pytest.raises(ValidationError) as raised:
        ticket.save()
    assert "satisfaction" in fields_of(raised)
    sent = [s for s in reminders.run()[0] if s.kind == "ticket_overdue" and s.title == ticket.number]
    assert sent and not [s for s in reminders.run()[0] if s.kind == "ticket_overdue" and s.title == ticket.number]


# ---- review findings, each with its regression test -------------------------------------------------------
def test_the_books_of_a_stock_take_come_from_stock_and_the_counter_does_not_review_it_MIC_產品庫存管理_2(db):
    item = product()
    row = stock(item, 10, warehouse="复核仓", batch="")
    take = StockTake(warehouse="复核仓", taken_on=local_today(), counted_by=person("sales_clerk"),
                     lines=[TakeLine(product=item, book_quantity=0, counted_quantity=10)], owner_unit=unit("BR-OPS"))
    products.fill_book(take)
    take.save()
    assert reload(take).lines[0].book_quantity == 10 and reload(take).lines[0].variance == 0  # typed 0 ignored
    with pytest.raises(Refused):
        products.review_take(take.pk, actor("sales_clerk"))
    products.review_take(take.pk, actor("sales_head"))
    products.post_take(take.pk, actor("sales_head"))
    assert reload(row).quantity == 10


def test_stock_of_a_failed_batch_found_by_a_stock_take_starts_held_MIC_產品質量控制_3(db):
    item = product()
    QualityInspection(product=item, batch="BAD2", inspector=person("sales_clerk"), inspected_on=local_today(),
                      result="fail", defects="漏水").save()
    take = StockTake(warehouse="别处仓", taken_on=local_today(), counted_by=person("sales_clerk"),
                     lines=[TakeLine(product=item, batch="BAD2", counted_quantity=7, explanation="未入账")],
                     owner_unit=unit("BR-OPS")).save()
    products.review_take(take.pk, actor("sales_head"))
    products.post_take(take.pk, actor("sales_head"))
    assert StockItem.objects(product=item, batch="BAD2").first().held


def test_reserved_stock_rows_and_failed_inspections_stay_put(as_role, db):
    item = product()
    row = stock(item, 10)
    confirmed(item, 4)
    head = as_role("branch_head")
    response = head.post_form(f"/stock/delete/{row.pk}", {}, "/resetmypassword/form")
    assert StockItem.objects(pk=row.pk).first() is not None and response.status_code in (200, 302)
    failed = QualityInspection(product=item, batch="B1", inspector=person("sales_clerk"), inspected_on=local_today(),
                               result="fail", defects="划伤", owner_unit=unit("BR-OPS")).save()
    head.post_form(f"/inspections/delete/{failed.pk}", {}, "/resetmypassword/form")
    assert QualityInspection.objects(pk=failed.pk).first() is not None
