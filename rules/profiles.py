"""Visitor profiles: consented behaviour only, bounded, never raw text, IP or User-Agent.

A profile holds what the personalization consent allows: visit count, first/last seen, the last few
pages viewed, and counts of device classes, times of day and site sections (the behavioural features
`tailor_discover_segments` clusters). Stored in Redis when configured (one JSON value per visitor with
a TTL equal to the retention window), else in the database.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from rules.engine.time import daypart
from rules.engine.vocabulary import DAYPARTS, HUMAN_DEVICE_CLASSES
from rules.models import VisitorProfile
from tailor.redis import get_redis, redis_key
from tailor.settings import tailor_settings

#: a new visit starts after this long without a page view
VISIT_GAP = timedelta(minutes=30)
MAX_RECENT_PAGES = 20
MAX_SECTIONS = 20
MAX_PATH_LENGTH = 200
DEVICES = HUMAN_DEVICE_CLASSES


def section_of(path: str) -> str | None:
    parts = [p for p in (path or "").split("/") if p]
    return parts[0][:40].lower() if parts else None


@dataclass
class Profile:
    visitor_id: str
    visit_count: int = 0
    page_views: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    recent_pages: list[str] = field(default_factory=list)
    devices: dict[str, int] = field(default_factory=dict)
    dayparts: dict[str, int] = field(default_factory=dict)
    sections: dict[str, int] = field(default_factory=dict)
    #: the session history (`rules.engine.journey`): page ids and section names only, bounded; kept
    #: on the profile so that forgetting or withdrawing consent erases it with the rest
    journey: dict = field(default_factory=dict)
    consent_personalization: bool = False
    consent_analytics: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Profile:
        data = json.loads(raw)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def record_view(self, *, now: datetime, path: str | None, device: str | None, local_hour: int | None) -> None:
        """Count one page view (and a new visit when the last one is more than VISIT_GAP ago)."""
        last = datetime.fromisoformat(self.last_seen) if self.last_seen else None
        if last is None or now - last > VISIT_GAP:
            self.visit_count += 1
        self.page_views += 1
        self.first_seen = self.first_seen or now.isoformat()
        self.last_seen = now.isoformat()
        if path:
            path = path[:MAX_PATH_LENGTH]
            self.recent_pages = ([path] + [p for p in self.recent_pages if p != path])[:MAX_RECENT_PAGES]
            section = section_of(path)
            if section and (section in self.sections or len(self.sections) < MAX_SECTIONS):
                self.sections[section] = self.sections.get(section, 0) + 1
        if device in DEVICES:
            self.devices[device] = self.devices.get(device, 0) + 1
        if local_hour is not None:
            part = daypart(local_hour)
            self.dayparts[part] = self.dayparts.get(part, 0) + 1

    def features(self, sections: list[str]) -> dict[str, float]:
        """Behavioural features in [0, 1]-ish ranges, for clustering and discovered-segment membership."""
        views = max(1, self.page_views)
        feats: dict[str, float] = {"visits": math.log1p(self.visit_count)}
        device_total = max(1, sum(self.devices.values()))
        for d in DEVICES:
            feats[f"device:{d}"] = self.devices.get(d, 0) / device_total
        part_total = max(1, sum(self.dayparts.values()))
        for p in DAYPARTS:
            feats[f"daypart:{p}"] = self.dayparts.get(p, 0) / part_total
        for s in sections:
            feats[f"section:{s}"] = self.sections.get(s, 0) / views
        return feats


class ProfileStore:
    def get(self, visitor_id: str) -> Profile | None:
        raise NotImplementedError  # pragma: no cover - abstract

    def save(self, profile: Profile) -> None:
        raise NotImplementedError  # pragma: no cover - abstract

    def delete(self, visitor_id: str) -> bool:
        raise NotImplementedError  # pragma: no cover - abstract

    def all(self, limit: int):
        """Up to `limit` consented profiles (for segment discovery)."""
        raise NotImplementedError  # pragma: no cover - abstract


class DatabaseProfileStore(ProfileStore):
    def get(self, visitor_id):
        row = VisitorProfile.objects.filter(visitor_id=visitor_id).only("data").first()
        return Profile.from_json(json.dumps(row.data)) if row else None

    def save(self, profile):
        VisitorProfile.objects.update_or_create(visitor_id=profile.visitor_id, defaults={"data": asdict(profile)})

    def delete(self, visitor_id):
        return VisitorProfile.objects.filter(visitor_id=visitor_id).delete()[0] > 0

    def all(self, limit):
        for row in VisitorProfile.objects.order_by("-updated_at")[:limit].iterator():
            profile = Profile.from_json(json.dumps(row.data))
            if profile.consent_personalization:
                yield profile


class RedisProfileStore(ProfileStore):
    def __init__(self, client):
        self.client = client

    def key(self, visitor_id: str) -> str:
        return redis_key("profile", visitor_id)

    def get(self, visitor_id):
        raw = self.client.get(self.key(visitor_id))
        return Profile.from_json(raw) if raw else None

    def save(self, profile):
        ttl = int(tailor_settings.PROFILE_RETENTION_DAYS) * 86400
        self.client.set(self.key(profile.visitor_id), profile.to_json(), ex=ttl)

    def delete(self, visitor_id):
        return bool(self.client.delete(self.key(visitor_id)))

    def all(self, limit):
        seen = 0
        for key in self.client.scan_iter(match=redis_key("profile", "*"), count=500):
            raw = self.client.get(key)
            if raw:
                profile = Profile.from_json(raw)
                if profile.consent_personalization:
                    yield profile
                    seen += 1
                    if seen >= limit:
                        return


def profile_store() -> ProfileStore:
    client = get_redis()
    return RedisProfileStore(client) if client is not None else DatabaseProfileStore()


def set_consent(visitor_id: str, *, personalization: bool, analytics: bool) -> Profile:
    """Record the visitor's choice. Withdrawing personalization erases the behaviour kept so far;
    the choice itself is kept (so a site whose default is opt-in remembers the refusal)."""
    store = profile_store()
    profile = store.get(visitor_id) or Profile(visitor_id)
    if not personalization:
        profile = Profile(visitor_id)
    profile.consent_personalization = personalization
    profile.consent_analytics = analytics
    store.save(profile)
    return profile
