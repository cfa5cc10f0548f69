"""Chromium on a frontend's origin calls Tailor on another origin (`tailor.cors`): a JSON POST to
/graphql/ (preceded by its preflight) and to the beacon go through from an origin in
``TAILOR["CORS_ORIGINS"]``, and the browser blocks them from any other."""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: what a frontend's page does: ask for the personalized page, then send the impression of a decision
CALLS = """async (api) => {
  try {
    const page = await fetch(api + "/graphql/", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({query: '{ personalizedPage(urlPath: "/", inSite: true) { decisions { slot token } } }'}),
    });
    const data = await page.json();
    const token = data.data.personalizedPage.decisions[0].token;
    const beacon = await fetch(api + "/tailor/events/", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({token, kind: "impression"}),
    });
    return {graphql: page.status, beacon: beacon.status, answer: await beacon.json()};
  } catch (error) {
    return {blocked: String(error)};
  }
}"""


class FrontendOrigin:
    """A page served from another origin than Django's (another port of 127.0.0.1)."""

    def __enter__(self):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_GET(self):
                body = b"<!doctype html><title>frontend</title><p>frontend</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_configured_origin_calls_graphql_and_the_beacon_and_any_other_is_blocked(page, live_server, settings):
    call_command("tailor_demo", stdout=open(os.devnull, "w"))
    api = live_server.url.replace("localhost", "127.0.0.1")
    with FrontendOrigin() as frontend:
        assert frontend.split(":")[-1] != api.split(":")[-1]  # two origins
        page.goto(f"{frontend}/")

        settings.TAILOR = {"CORS_ORIGINS": [frontend]}
        allowed = page.evaluate(CALLS, api)

        settings.TAILOR = {"CORS_ORIGINS": ["http://127.0.0.1:1"]}
        blocked = page.evaluate(CALLS, api)

    assert allowed["graphql"] == 200 and allowed["beacon"] == 200, allowed
    assert allowed["answer"]["received"] == 1 and allowed["answer"]["errors"] == []
    assert "Failed to fetch" in blocked["blocked"], blocked
