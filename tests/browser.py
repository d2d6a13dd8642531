"""Headless Chromium for the tests of rnnlab's web pages, driven by Playwright: the browser's path, its flags and
one page to drive.  A test that needs it is skipped, saying how to install what is missing, where Debian's
``chromium`` (or ``$RNNLAB_CHROMIUM``) or Playwright is absent; CI installs Chromium, so there it always runs."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("RNNLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"      # screenshots, to look at


@contextmanager
def chromium_page(viewport: dict | None = None) -> Iterator[tuple[object, list[str]]]:
    """(page, errors): a fresh page of a headless Chromium and the list its uncaught page errors go into;
    the browser is closed when the block ends, whatever happened in it."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: `apt-get install -y chromium` (Debian) to run the browser test")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (in the test extra)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(**({"viewport": viewport} if viewport else {}))
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page, errors
        finally:
            browser.close()
