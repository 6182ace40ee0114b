"""Every dashboard in headless Chromium with no network (issue 9 "Done means"): signed in through the login form as a
role allowed to see it, in English and in Chinese, the page has its title, an SVG chart with drawn marks and its
table, the browser console has no severe error, and nothing was loaded from outside the live server. A screenshot
of each goes to PORTAL_TEST_ARTIFACTS. Skipped, saying why, where Chromium or chromedriver is missing."""

import pytest
from flask_babel import force_locale, gettext

import portal.dashboards  # noqa: F401  (declares the dashboards)
from portal import reports

# who opens each dashboard: a demo account whose roles grant it and whose scope holds demo records
VIEWERS = {"sales": "sales_rep", "income": "finance", "customers": "sales_clerk", "receivables": "finance",
           "budget": "finance", "complaints": "service_head", "after_sales": "service_head",
           "satisfaction": "service_head", "appraisal": "hr", "training": "hr"}
LANGUAGES = ("en", "zh")


def test_every_dashboard_has_a_viewer_here():
    assert set(VIEWERS) == set(reports.DASHBOARDS)


def _expected(app, language: str, text) -> str:
    with app.test_request_context(), force_locale(language):
        return str(text)


@pytest.mark.parametrize(("key", "language"), [(k, lang) for k in VIEWERS for lang in LANGUAGES],
                         ids=[f"{k}-{lang}" for k in VIEWERS for lang in LANGUAGES])
def test_the_dashboard_renders_offline_with_its_charts_and_tables(app, web, key, language):
    from selenium.webdriver.common.by import By

    board = reports.get(key)
    web.login(VIEWERS[key]).language(language).open(f"/reports/{key}/")
    driver = web.driver

    assert driver.find_element(By.TAG_NAME, "h2").text.strip() == _expected(app, language, board.title)
    with app.test_request_context(), force_locale(language):
        show = gettext("Show")
    assert driver.find_element(By.CSS_SELECTOR, ".portal-report-filters button[type=submit]").text.strip() == show
    charts = driver.find_elements(By.CSS_SELECTOR, "svg.portal-chart-svg")
    marks = driver.find_elements(By.CSS_SELECTOR, "svg.portal-chart-svg .portal-mark")
    assert charts and marks, f"no chart with drawn marks on /reports/{key}/"
    assert all(chart.size["width"] > 100 and chart.size["height"] > 20 for chart in charts)
    assert driver.find_elements(By.CSS_SELECTOR, "table.portal-report tbody tr")
    assert driver.find_elements(By.CSS_SELECTOR, "a.portal-csv")
    assert web.severe_errors() == []
    assert web.foreign_resources() == []
    shot = web.screenshot(f"dashboard-{key}-{language}")
    assert shot.stat().st_size > 5000


def test_the_browser_reaches_nothing_but_the_live_server(web):
    """The kit's own guard: an outside address fails instead of loading (no network beyond the loopback)."""
    web.open("/login/")
    web.driver.set_page_load_timeout(10)
    try:
        web.driver.get("http://example.com/")
    except Exception:  # a timeout is as good as an error page: nothing came from outside
        pass
    finally:
        web.driver.set_page_load_timeout(30)
    assert "Example Domain" not in web.driver.page_source
    web.console()
