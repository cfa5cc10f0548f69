"""The consent a request carries (DESIGN.md, privacy by design).

A forwarded opt-out (`Sec-GPC: 1`, `DNT: 1`) always wins; then the consent the call states; then the
consent the visitor gave before (their stored profile); then `TAILOR["DEFAULT_CONSENT"]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rules.engine.context import SOURCE_INPUT
from tailor.settings import tailor_settings

# Where a request's consent came from: the call, the visitor's stored choice, a privacy signal, the default.
CONSENT_SOURCES = (SOURCE_INPUT, "stored", "Sec-GPC", "DNT", "default")


@dataclass(frozen=True)
class Consent:
    personalization: bool
    analytics: bool
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"personalization": self.personalization, "analytics": self.analytics, "source": self.source}


def opt_out(request) -> Consent | None:
    """The refusal a request's privacy signal states (`Sec-GPC: 1`, then `DNT: 1`), or None."""
    meta = getattr(request, "META", None) or {}
    if meta.get("HTTP_SEC_GPC", "").strip() == "1":
        return Consent(False, False, "Sec-GPC")
    if meta.get("HTTP_DNT", "").strip() == "1":
        return Consent(False, False, "DNT")
    return None


def opted_out(consent: Consent | None) -> bool:
    """The consent comes from a privacy signal (Sec-GPC / DNT): no visitor token, nothing stored."""
    return consent is not None and consent.source in ("Sec-GPC", "DNT")


def resolve_consent(request, data: Mapping[str, Any], stored: Consent | None) -> Consent:
    refused = opt_out(request)
    if refused is not None:
        return refused
    given = data.get("consent")
    if given is not None:
        return Consent(bool(given.get("personalization")), bool(given.get("analytics")), SOURCE_INPUT)
    if stored is not None:
        return stored
    default = tailor_settings.DEFAULT_CONSENT or {}
    return Consent(bool(default.get("personalization")), bool(default.get("analytics")), "default")
