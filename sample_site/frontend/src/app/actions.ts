"use server";
/**
 * Server actions the browser calls. They run on this server, so they can read the httpOnly visitor
 * cookie, forward the visitor's headers to Tailor and set the cookie again.
 */
import { cookies, headers } from "next/headers";
import { type ConsentSource, SetConsentDocument } from "@/gql/graphql";
import { tailorRequest, TailorGraphQLError } from "@/lib/tailor/client";
import { VISITOR_COOKIE, visitorCookieOptions } from "@/lib/tailor/config";
import { forwardedHeaders, optedOut } from "@/lib/tailor/forward";
import { identifyVisitor } from "@/lib/tailor/visitor";

export interface ConsentResult {
  ok: boolean;
  consent: { personalization: boolean; analytics: boolean; source: ConsentSource } | null;
  errors: { field: string | null; message: string }[];
}

/** The consent banner's Accept / Decline: `setConsent` with the visitor's token and headers. */
export async function saveConsent(personalization: boolean, analytics: boolean): Promise<ConsentResult> {
  if (typeof personalization !== "boolean" || typeof analytics !== "boolean") {
    return { ok: false, consent: null, errors: [{ field: null, message: "expected two booleans" }] };
  }
  const requestHeaders = await headers();
  const cookieStore = await cookies();
  try {
    const data = await tailorRequest(
      SetConsentDocument,
      {
        visitorToken: cookieStore.get(VISITOR_COOKIE)?.value ?? null,
        personalization,
        analytics,
        forwardedHeaders: forwardedHeaders(requestHeaders),
      },
      { fetch: { cache: "no-store" } },
    );
    const payload = data.setConsent;
    if (!payload) return { ok: false, consent: null, errors: [{ field: null, message: "no answer" }] };
    if (payload.visitorToken) {
      cookieStore.set(VISITOR_COOKIE, payload.visitorToken, visitorCookieOptions(requestHeaders));
    }
    return {
      ok: payload.ok,
      consent: payload.consent
        ? {
            personalization: payload.consent.personalization,
            analytics: payload.consent.analytics,
            source: payload.consent.source,
          }
        : null,
      errors: payload.errors.map((e) => ({ field: e.field, message: e.message })),
    };
  } catch (e) {
    const message = e instanceof TailorGraphQLError || e instanceof Error ? e.message : String(e);
    return { ok: false, consent: null, errors: [{ field: null, message }] };
  }
}

/**
 * The page saw Tailor hand back another visitor token than the cookie's (renewed because it was
 * old, or a fresh visitor's because it was invalid): store the current one. The token is read from
 * the cookie and re-checked by Tailor, never taken from the browser.
 */
export async function renewVisitorCookie(): Promise<void> {
  const requestHeaders = await headers();
  const cookieStore = await cookies();
  if (optedOut(requestHeaders)) return; // Sec-GPC / DNT: no visitor cookie
  const token = await identifyVisitor(cookieStore.get(VISITOR_COOKIE)?.value ?? null);
  if (token) cookieStore.set(VISITOR_COOKIE, token, visitorCookieOptions(requestHeaders));
}
