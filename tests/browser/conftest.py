"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Every test in this directory is marked ``browser``. Without /usr/bin/chromium they skip loudly
(and fail in CI, where SMARTCLINIC_REQUIRE_ALL=1 turns a skipped browser test into a failure).
Playwright is never asked to download a browser.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
HERE = Path(__file__).resolve().parent


def pytest_itemcollected(item: pytest.Item) -> None:
    if HERE in Path(str(item.path)).resolve().parents:
        item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = Path(settings.BASE_DIR) / "var" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module (the event loop stops with it at the module's end)."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: browser tests skipped")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an asyncio event loop in the test thread, so Django's guard against
    # calling the ORM from async code would refuse the tests' own queries. The switch is set only
    # while the browser runs: left in os.environ it would leak into subprocesses of later tests
    # (and `check --deploy` rightly fails on it).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class OffsiteRequests(list[str]):
    """Every request a page tried to make to a host other than the live server (all are refused)."""


def _new_context(browser: Any, live_server: Any, **options: Any) -> tuple[Any, OffsiteRequests]:
    context = browser.new_context(base_url=live_server.url, **options)
    context.set_default_timeout(10_000)
    offsite = OffsiteRequests()
    own_host = urlsplit(live_server.url).netloc

    def guard(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).netloc == own_host or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            offsite.append(url)
            route.abort()

    context.route("**/*", guard)
    return context, offsite


@pytest.fixture
def phone(browser: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    """A page in a phone-sized context (390x844, touch, Chinese browser) on the live server."""
    context, offsite = _new_context(browser, live_server, locale="zh-CN", **PHONE)
    page = context.new_page()
    yield page
    context.close()
    assert offsite == [], f"the page tried to load assets from the internet: {offsite}"


@pytest.fixture
def desktop(browser: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    """A page in a desktop-sized context, as on a clinic workstation."""
    context, offsite = _new_context(browser, live_server, locale="zh-CN", **DESKTOP)
    page = context.new_page()
    yield page
    context.close()
    assert offsite == [], f"the page tried to load assets from the internet: {offsite}"
