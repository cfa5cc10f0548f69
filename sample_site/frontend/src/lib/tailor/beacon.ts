/**
 * Events from the browser: `navigator.sendBeacon` to Tailor's /tailor/events/. The body is a JSON
 * string, which the browser sends as text/plain: a "simple" cross-origin request, no CORS preflight,
 * and it survives the page being unloaded (a click that navigates away still counts).
 *
 * Tailor answers `{received, counted, errors}`; a beacon cannot read it. A decision counts once per
 * kind (whatever the goal), and never for a bot.
 */
import type { EventKind } from "@/gql/graphql";
import { PUBLIC_TAILOR_API } from "./config";

export const TAILOR_EVENTS_URL = `${PUBLIC_TAILOR_API}/tailor/events/`;

export interface TailorEvent {
  /** The decision's token (`decision.token`). */
  token: string;
  kind: EventKind;
  /** Which goal, for a conversion (e.g. "cta", "signup"). */
  goal?: string;
  /** A conversion's value (e.g. an order total). */
  value?: number;
}

/** Send events (at most 20 at a time); true when the browser queued them. */
export function sendEvents(events: TailorEvent[]): boolean {
  const valid = events.filter((e) => e.token);
  if (!valid.length || typeof navigator === "undefined") return false;
  const body = JSON.stringify(valid.length === 1 ? valid[0] : { events: valid.slice(0, 20) });
  if (typeof navigator.sendBeacon === "function" && navigator.sendBeacon(TAILOR_EVENTS_URL, body)) {
    return true;
  }
  // No beacon (or its queue is full): a keepalive fetch does the same job.
  fetch(TAILOR_EVENTS_URL, {
    method: "POST",
    body,
    keepalive: true,
    mode: "cors",
    headers: { "Content-Type": "text/plain;charset=UTF-8" },
  }).catch(() => undefined);
  return true;
}

export function sendEvent(event: TailorEvent): boolean {
  return sendEvents([event]);
}
