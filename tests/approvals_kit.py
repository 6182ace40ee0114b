"""Helpers for approval tests: demo people as engine actors, budget lines and claims."""

import datetime as dt
from decimal import Decimal

from models.common import money
from models.conduct import LeaveRequest
from models.finance import Budget, ExpenseClaim, ExpenseItem
from models.org import Employee, OrgUnit
from portal.approvals import Actor
from portal.compat import flatten_errors
from portal.settings import local_today
from seeds.demo import ACCOUNTS

ROLES = {username: role for username, role, *_rest in ACCOUNTS}
NUMBERS = {username: number for username, _role, number, *_rest in ACCOUNTS}


def person(username: str) -> Employee:
    return Employee.objects(employee_no=NUMBERS[username]).first()


def actor(username: str, *extra_roles: str) -> Actor:
    employee = person(username)
    roles = {ROLES[username], "Employee", *extra_roles}
    return Actor(employee.pk, employee.name, username, frozenset(roles))


def unit(code: str) -> OrgUnit:
    return OrgUnit.objects(code=code).first()


def budget_line(code: str = "BR-SALES", annual="10000", category: str = "other", kind: str = "fund") -> Budget:
    total = money(annual)
    quarter = money(total / 4)
    return Budget(year=local_today().year, owner_unit=unit(code), kind=kind, category=category, annual_amount=total,
                  quarters=[quarter, quarter, quarter, total - 3 * quarter], status="approved").save()


def claim(username: str, amount, budget: Budget, title: str = "客户拜访差旅") -> ExpenseClaim:
    day = max(local_today() - dt.timedelta(days=1), dt.date(local_today().year, 1, 1))
    return ExpenseClaim(claimant=person(username), title=title, budget=budget, items=[
        ExpenseItem(date=day, place="上海", purpose="高铁与住宿", amount=Decimal(str(amount)), invoice_no="INV-1"),
    ]).save()


def leave(username: str, start: dt.date, days: int = 2) -> LeaveRequest:
    return LeaveRequest(employee=person(username), kind="annual", start=start,
                        end=start + dt.timedelta(days=days - 1), reason="家中有事").save()


def fields_of(raised) -> set[str]:
    """The form fields a refusal names (a line's cell names its list)."""
    return {key.split("-")[0] for key in flatten_errors(raised.value)}
