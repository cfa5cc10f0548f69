"""A second app process for the feedback loop tests: records events with the real service function.

    echo '{"tailor": {...}, "events": [[token, "impression"], ...]}' | python -m tests.feedback_worker

Django is set up from the environment (DJANGO_SETTINGS_MODULE, DATABASE_URL); `tailor` becomes the
TAILOR setting. Prints ``{"counted": n}``.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import django

    django.setup()
    from django.test.utils import override_settings

    from variants.events import record_event

    job = json.load(sys.stdin)
    with override_settings(TAILOR=job["tailor"]):
        counted = sum(record_event(token, kind).counted for token, kind in job["events"])
    print(json.dumps({"counted": counted}))


if __name__ == "__main__":
    main()
