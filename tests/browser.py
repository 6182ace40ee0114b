"""Browser test kit: the session's app served on 127.0.0.1 in a thread and driven by headless Chromium (Debian's
/usr/bin/chromium with /usr/bin/chromedriver) through Selenium, with no network beyond the loopback.

Fixtures (made available to every test module by tests/conftest.py):

* ``live_server`` (session): the test session's app on a free port of 127.0.0.1 (werkzeug, threaded); its
  ``url``. Under pytest-xdist each worker has its own app, database and port.
* ``chrome`` (session): one headless Chromium per worker. Every host name but 127.0.0.1 fails to resolve and every
  other address goes to a closed proxy port, so a page that needs the internet shows it at once.
* ``web`` (per test): a ``Web`` helper on that browser with its cookies cleared: ``login(username)``,
  ``language("zh")``, ``open(path)``, ``screenshot(name)``, ``foreign_resources()``, ``severe_errors()``.

When Chromium or chromedriver is missing, the tests that use them are skipped with a message saying so. Paths
can be moved with PORTAL_CHROMIUM and PORTAL_CHROMEDRIVER; screenshots go to PORTAL_TEST_ARTIFACTS
(default /tmp/portal-test-artifacts).
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("PORTAL_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("PORTAL_TEST_ARTIFACTS", "/tmp/portal-test-artifacts"))
# what the live server needs to hand a session cookie to http://127.0.0.1 (restored after the session)
LIVE_CONFIG = {"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False, "PREFERRED_URL_SCHEME": "http",
               "SERVER_NAME": None}
CHROME_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    # no network beyond the loopback: names do not resolve, other addresses go to a closed port
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not (os.path.isfile(path) and os.access(path, os.X_OK))]
    if missing:
        return (f"browser tests skipped: {' and '.join(missing)} not found (Debian: apt-get install chromium "
                f"chromium-driver, or set PORTAL_CHROMIUM / PORTAL_CHROMEDRIVER)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "browser tests skipped: selenium is not installed (pip install -e '.[test]')"
    return None


class LiveServer:
    """The app on 127.0.0.1 and a free port, served from a daemon thread."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"live-server-{self.port}",
                                       daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(app):
    """The test session's app served over HTTP on 127.0.0.1 (one per xdist worker)."""
    saved = {key: app.config.get(key) for key in LIVE_CONFIG}
    app.config.update(LIVE_CONFIG)
    server = LiveServer(app).start()
    yield server
    server.stop()
    app.config.update(saved)


@pytest.fixture(scope="session")
def chrome():
    """One headless Chromium for the worker, or a skip saying what is missing."""
    reason = browser_missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in CHROME_ARGS:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


class Web:
    """A page in the browser, as a user works it: sign in through the form, switch language, open pages, take
    screenshots, and check what the page loaded and logged."""

    def __init__(self, driver, server: LiveServer):
        self.driver, self.server = driver, server

    def url(self, path: str) -> str:
        return self.server.url + path

    def open(self, path: str) -> Web:
        self.driver.get(self.url(path))
        return self

    def login(self, username: str, password: str | None = None) -> Web:
        """Sign in through the login form (CSRF token and all) and wait for the next page."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        from tests.conftest import DEMO_PASSWORD

        self.open("/login/")
        self.driver.find_element(By.NAME, "username").send_keys(username)
        self.driver.find_element(By.NAME, "password").send_keys(password or DEMO_PASSWORD)
        self.driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
        WebDriverWait(self.driver, 15).until(ec.none_of(ec.url_contains("/login/")))
        return self

    def language(self, code: str) -> Web:
        """Switch the session's language (FAB's /lang/<code>), as the language menu does."""
        self.open(f"/lang/{code}")
        return self

    def screenshot(self, name: str) -> Path:
        """The whole page as a PNG in the artefacts directory; returns its path."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{_UNSAFE.sub('-', name).strip('-') or 'page'}.png"
        try:
            import base64

            shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png",
                                                                          "captureBeyondViewport": True})
            path.write_bytes(base64.b64decode(shot["data"]))
        except Exception:  # a driver without the DevTools command: the visible part of the page
            self.driver.save_screenshot(str(path))
        return path

    def resources(self) -> list[str]:
        """Every URL the page loaded: the document and its resources (Resource Timing)."""
        return self.driver.execute_script(
            "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
            ".map(function (e) { return e.name; });")

    def foreign_resources(self) -> list[str]:
        """Loaded URLs that are not on the live server (should be none: no CDN, no internet)."""
        origin = self.server.url + "/"
        return [url for url in self.resources() if not (url.startswith(origin) or url.startswith("data:"))]

    def console(self) -> list[dict]:
        """The browser console since the last call (entries are consumed)."""
        return self.driver.get_log("browser")

    def severe_errors(self) -> list[str]:
        return [entry["message"] for entry in self.console() if entry.get("level") == "SEVERE"]


@pytest.fixture
def web(chrome, live_server):
    """The worker's browser on the live server, signed out and with an empty console."""
    chrome.delete_all_cookies()
    page = Web(chrome, live_server)
    page.console()
    return page
