"""Data scope (DOMAIN 1): which records a user may see and where they may put them."""

from __future__ import annotations

from flask import g, has_request_context
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import gettext, lazy_gettext
from mongoengine import Q

from models.org import Employee, OrgUnit

UNIT_ROLES = frozenset({"Clerk", "DeptHead"})


class ScopeDenied(Exception):
    """Raised with a message safe to show: the record would leave the user's scope."""


class ScopeFilter(BaseFilter):
    """Base filter that narrows every query of a view to the current user's scope."""

    name = lazy_gettext("In my scope")
    arg_name = "scope"

    def apply(self, query, func):
        q = func()
        return query if q is None else query.filter(q)


def role_names() -> frozenset[str]:
    """Role names of the current user (from the security manager's per-request cache)."""
    if not has_request_context():
        return frozenset()
    from flask import current_app

    return current_app.appbuilder.sm.current_role_names()


def current_employee_id():
    """ObjectId of the current user's Employee record, read without loading it, or None."""
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    raw = user._data.get("employee")
    return getattr(raw, "id", getattr(raw, "pk", raw))


def visible_units() -> list:
    """Ids of the org units whose records the current user sees as Clerk or DeptHead (cached per request)."""
    from portal.security import request_cache

    cache = request_cache()
    if "units" in cache:
        return cache["units"]
    units: set = set()
    employee_id = current_employee_id()
    roles = role_names()
    if employee_id is not None and roles & UNIT_ROLES:
        own = (Employee._get_collection().find_one({"_id": employee_id}, {"owner_unit": 1}) or {}).get("owner_unit")
        units = _subtrees(own, employee_id, clerk="Clerk" in roles, head="DeptHead" in roles)
    cache["units"] = sorted(units)
    return cache["units"]


def _subtrees(own, employee_id, clerk: bool, head: bool) -> set:
    """Own unit and below for a Clerk; headed units and below for a DeptHead (own unit when heading none)."""
    collection = OrgUnit._get_collection()
    rows = list(collection.find({"$or": [{"_id": own}, {"ancestors": own}, {"head": employee_id},
                                         {"deputy_heads": employee_id}]},
                                {"ancestors": 1, "head": 1, "deputy_heads": 1}))
    own_tree = {r["_id"] for r in rows if r["_id"] == own or own in (r.get("ancestors") or [])}
    headed = {r["_id"] for r in rows if r.get("head") == employee_id or employee_id in (r.get("deputy_heads") or [])}
    units = set(own_tree) if clerk or (head and not headed) else set()
    if head and headed:
        units |= headed | {r["_id"] for r in rows if headed & set(r.get("ancestors") or [])}
        outside = headed - own_tree  # their sub-units were not in the first answer
        if outside:
            units |= {r["_id"] for r in collection.find({"ancestors": {"$in": list(outside)}}, {"_id": 1})}
    return units


def scope_q(unit_field: str | None, owner_field: str | None, all_roles: frozenset[str],
            extra_unit_fields: tuple[str, ...] = (), extra_owner_fields: tuple[str, ...] = ()) -> Q | None:
    """The query that restricts a view to the user's scope, or None when the user sees everything.

    `extra_unit_fields` name other units that see the record too (a complaint's responsible department);
    `extra_owner_fields` other people (a key account's dedicated owner).
    """
    roles = role_names()
    if roles & all_roles:
        return None
    q = Q(pk__in=[])  # deny by default
    if unit_field and roles & UNIT_ROLES:
        for field in (unit_field, *extra_unit_fields):
            q |= Q(**{f"{field}__in": visible_units()})
    employee_id = current_employee_id()
    if employee_id is not None:
        for field in (owner_field, *extra_owner_fields) if owner_field else extra_owner_fields:
            q |= Q(**{"pk" if field == "id" else field: employee_id})
    return q


def force_owner(item, unit_field: str | None, owner_field: str | None, all_roles: frozenset[str]) -> None:
    """On create and update keep the record inside the user's scope; fill the owner unit when it is empty."""
    roles = role_names()
    if roles & all_roles:
        return
    employee_id = current_employee_id()
    if owner_field and owner_field != "id" and not roles & UNIT_ROLES:
        if employee_id is None:
            raise ScopeDenied(gettext("Your login is not linked to an employee record."))
        if item._created or item.pk is None or owner_field in item._get_changed_fields():
            setattr(item, owner_field, Employee.objects(pk=employee_id).first())  # one's own records only
    if not unit_field or not roles & UNIT_ROLES:
        return
    if not item._created and item.pk is not None and unit_field not in item._get_changed_fields():
        return  # the record was in scope to be opened; a unit that stays the same needs no check
    units = visible_units()
    current = item._data.get(unit_field)
    current_id = getattr(current, "pk", getattr(current, "id", current))
    if current_id is None:
        own = Employee._get_collection().find_one({"_id": employee_id}, {"owner_unit": 1}) if employee_id else None
        if own and own.get("owner_unit") in units:
            setattr(item, unit_field, OrgUnit.objects(pk=own["owner_unit"]).first())
            return
        raise ScopeDenied(gettext("Choose an org unit."))
    if current_id not in units:
        from models.common import field_error

        raise field_error(unit_field, gettext("You cannot put records into a unit outside your scope."))


def display_name(user) -> str:
    """A login's person name: family name first for Chinese names, as people write them."""
    first, last = (user.first_name or "").strip(), (user.last_name or "").strip()
    if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip() or user.username


def actor():
    """The signed-in user as the approval engine sees them (no database read)."""
    from portal.approvals import Actor

    user = g.user
    return Actor(employee_id=current_employee_id(), name=display_name(user), username=user.username,
                 roles=role_names())


def sees(raw: dict, unit_field: str | None, owner_field: str | None, all_roles: frozenset[str],
         extra_unit_fields: tuple[str, ...] = (), extra_owner_fields: tuple[str, ...] = ()) -> bool:
    """`scope_q` for one raw document already read (a customer's timeline links only what the user may open)."""
    roles = role_names()
    if roles & all_roles:
        return True
    if unit_field and roles & UNIT_ROLES:
        units = set(visible_units())
        if any(raw.get(field) in units for field in (unit_field, *extra_unit_fields)):
            return True
    employee_id = current_employee_id()
    fields = (owner_field, *extra_owner_fields) if owner_field else extra_owner_fields
    return employee_id is not None and any(raw.get("_id" if f == "id" else f) == employee_id for f in fields)
