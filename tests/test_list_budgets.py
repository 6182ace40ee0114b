"""Every list page of the portal within its round-trip budget (PERFORMANCE.md), as Admin and as Clerk: count and
page, one query per reference column and per small select of the search form, the Clerk's scope, the navbar, and
the fixed summary queries a view declares (`list_summary_queries`). A new area's lists join by being registered."""

import pytest
from flask_appbuilder import ModelView

from tests.conftest import data_round_trips, list_budget


def list_pages(app) -> list[str]:
    return sorted(f"{view.route_base}/list/" for view in app.appbuilder.baseviews
                  if isinstance(view, ModelView) and hasattr(view, "list_summary_queries"))


@pytest.fixture(scope="module")
def pages(app):
    return list_pages(app)


def test_every_list_page_is_held_to_the_budget(app, counter, as_role, pages):
    over = {}
    for role in ("Admin", "Clerk"):
        browser = as_role(role)
        for url in pages:
            first = browser.get(url)
            if first.status_code != 200:
                continue  # not this role's page
            counter.reset()
            browser.get(url)
            view = next(v for v in app.appbuilder.baseviews if getattr(v, "route_base", "") == url[:-6])
            allowed = list_budget(app, url, role) + view.list_summary_queries
            if data_round_trips(counter) > allowed:
                over[(role, url)] = (data_round_trips(counter), allowed, counter.by_collection())
    assert len(pages) > 60 and not over, "\n".join(f"{k}: {v[0]} > {v[1]} {dict(v[2])}" for k, v in over.items())
