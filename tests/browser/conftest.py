import os

import pytest

from tests.services import CHROMIUM_ARGS, require_chromium

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around it are
# still plain synchronous calls, so Django's async-safety guard would refuse them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# The demo admin's password: `tailor_demo` makes a random one unless this is set (the tests log in with it).
DEMO_PASSWORD = os.environ.setdefault("TAILOR_DEMO_PASSWORD", "browser-tests-demo-password")


@pytest.fixture(scope="session")
def browser():
    executable = require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the [dev] extra installs it
        pytest.fail("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
