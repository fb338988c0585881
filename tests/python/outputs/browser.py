"""Headless Chromium for the tests that read a page as people do (the docs site, the report):
open a page, screenshot it into screenshots/ and collect its console errors."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager

from conftest import REPO
from playwright.sync_api import sync_playwright

SCREENSHOTS = REPO / "screenshots"
PAGE_TIMEOUT_MS = 180_000
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise RuntimeError("no Chromium found: run `make browser` (or set CHROMIUM) before the browser tests")


@contextmanager
def open_in_browser(url: str, shot: str, settle_ms: int = 1000):
    """Open a page in headless Chromium, screenshot it; yield (page, console errors so far)."""
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        # A local file of a few MB loads in about a second, but on a machine shared with other
        # builds Chromium has taken over Playwright's default 30 s: a page that loads is what the
        # tests check, not how fast, so the wait is generous.
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(settle_ms)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"), full_page=True)
        yield page, errors
        browser.close()
