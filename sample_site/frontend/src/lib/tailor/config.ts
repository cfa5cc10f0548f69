/** Where Tailor is, and the names this app shares between its proxy, pages and actions. */

/** Tailor's origin as the Next server reaches it (server side only). */
export const TAILOR_API_URL = (process.env.TAILOR_API_URL || "http://127.0.0.1:8000").replace(/\/+$/, "");

/** Tailor's origin as the visitor's browser reaches it (the event beacon, image URLs). */
export const PUBLIC_TAILOR_API = (process.env.NEXT_PUBLIC_TAILOR_API || "http://127.0.0.1:8000").replace(/\/+$/, "");

/** The httpOnly cookie holding the visitor's token (signed by Tailor; opaque here). */
export const VISITOR_COOKIE = "tailor_visitor";

/** One year, SameSite=Lax, httpOnly; Secure when the visitor reached us over HTTPS. */
export function visitorCookieOptions(requestHeaders: { get(name: string): string | null }) {
  return {
    httpOnly: true,
    sameSite: "lax",
    secure: isHttps(requestHeaders),
    path: "/",
    maxAge: 365 * 24 * 60 * 60,
  } as const;
}

/** Whether the visitor's request came over HTTPS (Next sets X-Forwarded-Proto; so do TLS proxies). */
export function isHttps(requestHeaders: { get(name: string): string | null }): boolean {
  return (requestHeaders.get("x-forwarded-proto") ?? "").split(",")[0].trim() === "https";
}

/** A cookie the browser sets with its IANA timezone (time rules need it; no header carries it). */
export const TIMEZONE_COOKIE = "tailor_tz";

/** wagtail-headless-preview's token and content type, kept while draft mode is on. */
export const PREVIEW_COOKIE = "tailor_preview";

/** Request headers the proxy hands to the page (a client cannot set them: the proxy overwrites them). */
export const VISITOR_TOKEN_HEADER = "x-tailor-visitor-token";
export const RECORD_VISIT_HEADER = "x-tailor-record-visit";
export const INTERNAL_HEADERS = [VISITOR_TOKEN_HEADER, RECORD_VISIT_HEADER] as const;

/** Cache tags of page content; Tailor's publish webhook names them (see app/api/revalidate). */
export const PAGES_TAG = "tailor:pages";
export const pageTag = (id: string | number) => `tailor:page:${id}`;

/** How long cached content lives without a webhook (seconds). */
export const CONTENT_REVALIDATE_SECONDS = 3600;
