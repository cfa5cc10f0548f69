"""Page latency through the example Next.js frontend against the API alone.

    python -m benchmarks.frontend [--requests 60]

Starts the end-to-end stack (`tests/browser/frontend_stack.py`: the sample site under gunicorn on a
database of its own, `next build && next start`), then times, for one returning visitor:

- the API alone: the two calls the frontend makes per page view (`page_decisions.graphql` by POST,
  `page_content.graphql` by GET), as a frontend's server would send them;
- the page through Next.js: `GET /` with the visitor's cookie (rendered HTML, content from Next's cache).

Needs Node.js 20.9+ and npm; prints a table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tests.browser.frontend_stack import Stack

OPERATIONS = Path(__file__).resolve().parent.parent / "graphql" / "operations"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def timed(request: urllib.request.Request) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return (time.perf_counter() - started) * 1000, body


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    stack = Stack()
    try:
        stack.start()
        decisions_doc = (OPERATIONS / "page_decisions.graphql").read_text()
        content_doc = (OPERATIONS / "page_content.graphql").read_text()
        forwarded = [{"name": "User-Agent", "value": BROWSER}, {"name": "X-Vercel-IP-Timezone", "value": "Asia/Seoul"}]

        def decide(token: str | None) -> dict:
            body = json.dumps(
                {
                    "query": decisions_doc,
                    "variables": {"urlPath": "/", "inSite": True, "visitorToken": token, "forwardedHeaders": forwarded},
                }
            ).encode()
            request = urllib.request.Request(
                f"{stack.django_url}/graphql/", body, {"Content-Type": "application/json", "User-Agent": "node"}
            )
            return timed(request)

        content_url = f"{stack.django_url}/graphql/?" + urllib.parse.urlencode(
            {"query": content_doc, "variables": json.dumps({"urlPath": "/", "inSite": True})}
        )
        _, first = decide(None)
        token = json.loads(first)["data"]["personalizedPage"]["visitorToken"]
        api, page = [], []
        for _ in range(5):  # warm both servers
            decide(token)
            timed(urllib.request.Request(stack.next_url + "/", headers={"Cookie": f"tailor_visitor={token}"}))
        for _ in range(args.requests):
            ms_decide, _ = decide(token)
            ms_content, _ = timed(urllib.request.Request(content_url, headers={"User-Agent": "node"}))
            api.append(ms_decide + ms_content)
            ms_page, html = timed(
                urllib.request.Request(
                    stack.next_url + "/",
                    headers={"Cookie": f"tailor_visitor={urllib.parse.quote(token)}", "User-Agent": BROWSER},
                )
            )
            assert b'data-slot="hero"' in html, "the page did not render its hero region"
            page.append(ms_page)
        print(f"\n{'':44} {'p50 ms':>8} {'p95 ms':>8}")
        for name, values in (
            ("API alone (decisions POST + content GET)", api),
            ("page through Next.js (GET /, HTML)", page),
        ):
            print(f"{name:44} {statistics.median(values):8.1f} {percentile(values, 0.95):8.1f}")
        print(
            f"\n{args.requests} requests each; stack: " + ", ".join(f"{k} {v:.1f} s" for k, v in stack.timings.items())
        )
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
