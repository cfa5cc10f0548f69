/**
 * Context forwarding: the frontend's server calls Tailor, so Tailor would otherwise see the Next
 * server's User-Agent, language and address, not the visitor's. Every call made on a visitor's behalf
 * passes the visitor's own headers as `forwardedHeaders`; Tailor reads device, language, geo, timezone
 * and privacy signals (Sec-GPC, DNT: a forwarded opt-out always wins) from them, ignores names it does
 * not know, and keeps none of them (never the IP address or the raw User-Agent).
 */
import type { HeaderInput } from "@/gql/graphql";

/** The visitor headers Tailor reads. CDN geo headers only exist behind that CDN; absent ones are skipped. */
export const FORWARDED_HEADER_NAMES = [
  // device and browser
  "User-Agent",
  "Sec-CH-UA",
  "Sec-CH-UA-Mobile",
  "Sec-CH-UA-Platform",
  // language
  "Accept-Language",
  // privacy signals: either one means no optional consent
  "Sec-GPC",
  "DNT",
  // Cloudflare geo (enable "Add visitor location headers")
  "CF-IPCountry",
  "CF-IPCity",
  "CF-IPLatitude",
  "CF-IPLongitude",
  "CF-Timezone",
  // CloudFront geo (add them to the origin request policy)
  "CloudFront-Viewer-Country",
  "CloudFront-Viewer-City",
  "CloudFront-Viewer-Latitude",
  "CloudFront-Viewer-Longitude",
  "CloudFront-Viewer-Time-Zone",
  // Vercel geo
  "X-Vercel-IP-Country",
  "X-Vercel-IP-City",
  "X-Vercel-IP-Latitude",
  "X-Vercel-IP-Longitude",
  "X-Vercel-IP-Timezone",
  // where the visitor came from (referrer rules)
  "Referer",
] as const;

export type ForwardedHeaderName = (typeof FORWARDED_HEADER_NAMES)[number];

/** Tailor's limits: at most 40 headers, each value at most 1024 characters. */
const MAX_VALUE_LENGTH = 1024;

/** Anything with `get(name)`: `await headers()` in a page or action, `request.headers` in the proxy. */
export interface HeaderSource {
  get(name: string): string | null;
}

/**
 * The visitor's browser sends a privacy signal (`Sec-GPC: 1` or `DNT: 1`): Tailor issues no visitor
 * token then, so keep no visitor cookie either (and drop one set before).
 */
export function optedOut(source: HeaderSource): boolean {
  return source.get("Sec-GPC")?.trim() === "1" || source.get("DNT")?.trim() === "1";
}

/** The visitor's forwardable headers, as `forwardedHeaders: [{name, value}]`. */
export function forwardedHeaders(source: HeaderSource): HeaderInput[] {
  const forwarded: HeaderInput[] = [];
  for (const name of FORWARDED_HEADER_NAMES) {
    const value = source.get(name);
    if (value) forwarded.push({ name, value: value.slice(0, MAX_VALUE_LENGTH) });
  }
  return forwarded;
}
