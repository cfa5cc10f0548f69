"""In CI the suite must run against the real services, not fall back to the embedded defaults."""

import pytest
from django.db import connection

from tests.services import IN_CI, require_redis

pytestmark = pytest.mark.skipif(not IN_CI, reason="checks CI's own set-up; runs with CI=true")


def test_ci_runs_on_postgresql():
    assert connection.vendor == "postgresql", "CI must set DATABASE_URL to PostgreSQL"


def test_ci_has_redis():
    assert require_redis().ping()
