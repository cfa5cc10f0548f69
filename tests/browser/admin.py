"""What the admin's browser tests share."""

from __future__ import annotations

import os


def log_in(page, live_server, password: str | None = None) -> None:
    """Log in to the Wagtail admin as the demo's `admin` (password: TAILOR_DEMO_PASSWORD, which the
    browser tests' conftest sets, unless the test chose its own)."""
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", password or os.environ["TAILOR_DEMO_PASSWORD"])
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/")
