"""Builders for the sales, stock and agent tests: a product with tier prices, stock, a signed contract, an order."""

from __future__ import annotations

import itertools
from decimal import Decimal

from models.agents import AgentTier
from models.customers import Customer
from models.org import Employee
from models.products import Product, StockItem, TierPrice
from models.sales import Contract, OrderLine, SalesOrder
from portal.settings import local_today
from tests.approvals_kit import person, unit

_codes = itertools.count(1)


def tier(level: int = 2) -> AgentTier:
    return AgentTier.objects(level=level).first()


def product(price="100.00", cost="60.00", tier_price="80.00", unit_kind="piece", **fields) -> Product:
    code = fields.pop("code", f"T-{next(_codes):04d}")
    fields.setdefault("tier_prices", [TierPrice(tier=tier(), price=Decimal(tier_price))])
    return Product(code=code, name=fields.pop("name", f"测试商品{code}"), category=fields.pop("category", "测试"),
                   unit=unit_kind, standard_price=Decimal(price), unit_cost=Decimal(cost), **fields).save()


def stock(item: Product, quantity: int, warehouse="测试仓", batch="B1", reorder=0, **fields) -> StockItem:
    fields.setdefault("received_on", local_today())
    return StockItem(product=item, warehouse=warehouse, batch=batch, quantity=quantity, reorder_level=reorder,
                     owner_unit=unit("BR-OPS"), **fields).save()


def buyer() -> Customer:
    return Customer.objects(name="杭州瑞丰贸易有限公司").first()


def agent() -> Employee:
    return person("agent")


def contract(status="signed", amount="50000", **fields) -> Contract:
    values = {"customer": buyer(), "kind": "sales", "subject": "测试供货合同", "amount": Decimal(amount),
              "payment_terms": "货到 30 天付款", "delivery_terms": "供方送货", "start": local_today(),
              "end": local_today().replace(year=local_today().year + 1), "liabilities": "按合同法",
              "owner": person("sales_rep"), "status": status, **fields}
    return Contract(**values).save()


def order(lines, seller="sales_rep", warehouse="测试仓", **fields) -> SalesOrder:
    """`lines`: (product, quantity, unit price) triples."""
    values = {"customer": buyer(), "salesperson": person(seller) if isinstance(seller, str) else seller,
              "cs_owner": person("service_clerk"), "ordered_on": local_today(), "delivery_date": local_today(),
              "warehouse": warehouse,
              "lines": [OrderLine(product=p, quantity=q, unit_price=Decimal(price)) for p, q, price in lines], **fields}
    return SalesOrder(**values).save()


def reload(document):
    return type(document).objects(pk=document.pk).first()
