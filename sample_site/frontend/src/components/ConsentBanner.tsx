"use client";
/**
 * The consent banner. A browser privacy signal wins: when `navigator.globalPrivacyControl` is true,
 * or Tailor reports the consent came from `SEC_GPC` / `DNT`, personalization is off and there is
 * nothing to accept. Otherwise, until the visitor chooses (consent source DEFAULT), Accept / Decline
 * store the choice through `setConsent` (a server action that forwards the visitor's headers and the
 * cookie's token); the action sets the cookie, so Next re-renders the page, decided with the new consent.
 */
import { useEffect, useState, useTransition } from "react";
import { saveConsent } from "@/app/actions";
import type { ConsentSource } from "@/gql/graphql";

export interface ConsentState {
  personalization: boolean;
  analytics: boolean;
  /** INPUT, STORED, SEC_GPC, DNT or DEFAULT */
  source: ConsentSource;
}

export function ConsentBanner({ consent }: { consent: ConsentState | null }) {
  const [gpc, setGpc] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();

  useEffect(() => {
    setGpc((navigator as Navigator & { globalPrivacyControl?: boolean }).globalPrivacyControl === true);
  }, []);

  if (!consent) return null;

  if (gpc || consent.source === "SEC_GPC" || consent.source === "DNT") {
    const signal = consent.source === "DNT" && !gpc ? "Do Not Track" : "Global Privacy Control";
    return (
      <aside className="consent-banner" role="status" data-consent-banner="browser-signal">
        Personalization is off: your browser sends a {signal} signal, and we honour it. You see the
        same content as everyone; nothing about your visits is kept.
      </aside>
    );
  }

  if (consent.source !== "DEFAULT" || done) return null;

  function choose(accept: boolean) {
    setError(null);
    startTransition(async () => {
      const result = await saveConsent(accept, accept);
      // The action sets the visitor cookie, so Next re-renders the page with the stored consent.
      if (result.ok) setDone(true);
      else {
        setError(result.errors.map((e) => e.message).join("; ") || "Could not save your choice");
      }
    });
  }

  return (
    <aside className="consent-banner" role="dialog" aria-label="Personalization consent" data-consent-banner="ask">
      <p>
        May we remember your visits to tailor this site to you? Without your consent we only use what
        this request says (time, device, language), and keep nothing.
      </p>
      <div className="consent-actions">
        <button type="button" onClick={() => choose(true)} disabled={pending} data-consent-accept="">
          Accept
        </button>
        <button type="button" onClick={() => choose(false)} disabled={pending} data-consent-decline="">
          Decline
        </button>
      </div>
      {error ? <p className="consent-error">{error}</p> : null}
    </aside>
  );
}
