"""Round-trip budgets (PERFORMANCE.md): permissions and menu <= 4 per request whatever the number of views;
a list page's data <= 2 round-trips plus one per reference column, at N and 10 N records."""

import pytest

from models.org import OrgUnit
from portal.perf import DocCounter
from tests.conftest import SECURITY
from tests.sample import Sample


@pytest.fixture
def counters(counter):
    """The round-trip counter of conftest (which also holds the navbar's one-minute memory for the whole test, so a
    slow machine cannot add its refresh to one of two measurements) and a counter of documents built."""
    docs = DocCounter().install()
    yield counter, docs
    docs.uninstall()


def measure(counters, browser, url):
    rt, docs = counters
    browser.get(url)  # warm the per-process caches (clause titles, permission names)
    rt.reset()
    docs.reset()
    response = browser.get(url)
    assert response.status_code == 200
    return rt.by_collection(), docs.total


@pytest.mark.parametrize("role", ["Admin", "Clerk", "Employee", "DeptHead"])
def test_permissions_and_menu_cost_at_most_four_round_trips(counters, as_role, role):
    by_collection, _docs = measure(counters, as_role(role), "/regulations/")
    security = sum(n for coll, n in by_collection.items() if coll in SECURITY)
    assert security <= 4, by_collection


@pytest.mark.parametrize("scale", [30, 300])
def test_a_list_page_costs_two_round_trips_plus_one_per_reference_column(counters, as_role, scale):
    unit = OrgUnit.objects(code="HQ").first()
    Sample.objects.insert([Sample(name=f"budget{i:04d}", level="junior", owner_unit=unit, unit=unit)
                           for i in range(scale)], load_bulk=False)
    by_collection, docs = measure(counters, as_role("Admin"), "/sampleview/list/")
    assert by_collection["samples"] == 2, by_collection  # count + one page
    # two reference columns (unit, owner_unit), plus the search form's select of units
    assert by_collection.get("org_units", 0) <= 2 + 1, by_collection
    assert docs <= 25 * (1 + 2) + 10


def test_a_scoped_list_page_adds_at_most_two_round_trips_for_the_scope(counters, as_role):
    by_collection, _docs = measure(counters, as_role("Clerk"), "/employeeview/list/")
    assert by_collection["employees"] <= 2 + 1 + 1, by_collection  # count, page, my unit, manager column
    security = sum(n for coll, n in by_collection.items() if coll in SECURITY)
    assert security <= 4, by_collection


def test_the_page_size_does_not_change_the_round_trips(counters, as_role):
    unit = OrgUnit.objects(code="HQ").first()
    Sample.objects.insert([Sample(name=f"psize{i:04d}", level="junior", owner_unit=unit) for i in range(120)],
                          load_bulk=False)
    admin = as_role("Admin")
    small, _ = measure(counters, admin, "/sampleview/list/?psize_SampleView=25")
    large, _ = measure(counters, admin, "/sampleview/list/?psize_SampleView=100")
    assert sum(small.values()) == sum(large.values())
