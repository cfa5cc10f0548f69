/**
 * The visitor cookie (Next 16's `proxy.ts`, formerly `middleware.ts`).
 *
 * On a page request without the `tailor_visitor` cookie, ask Tailor for a visitor token
 * (`identifyVisitor`, which records nothing), set it as an httpOnly cookie (one year, SameSite=Lax)
 * and hand it to the page in a request header, so the very first page view is already decided for
 * this visitor. Under `Sec-GPC: 1` or `DNT: 1` it sets no cookie (Tailor issues no token then).
 *
 * It also tells the page to count the visit: the matcher below skips prefetches (Next's router and
 * the browser's), so a prefetched page is decided with `recordVisit: false` and counted only when it
 * is really viewed.
 */
import { NextResponse, type NextRequest } from "next/server";
import {
  INTERNAL_HEADERS,
  RECORD_VISIT_HEADER,
  VISITOR_COOKIE,
  VISITOR_TOKEN_HEADER,
  visitorCookieOptions,
} from "@/lib/tailor/config";
import { optedOut } from "@/lib/tailor/forward";
import { identifyVisitor } from "@/lib/tailor/visitor";

export async function proxy(request: NextRequest) {
  const requestHeaders = new Headers(request.headers);
  for (const name of INTERNAL_HEADERS) requestHeaders.delete(name); // only this proxy sets them
  // A view is a GET: server actions (POST) re-render the page without being a new view.
  if (request.method === "GET" && !isPrefetch(request)) requestHeaders.set(RECORD_VISIT_HEADER, "1");

  // Sec-GPC / DNT: no visitor token, no cookie (and one kept from before is dropped)
  if (optedOut(request.headers)) {
    const response = NextResponse.next({ request: { headers: requestHeaders } });
    if (request.cookies.get(VISITOR_COOKIE)) response.cookies.delete(VISITOR_COOKIE);
    return response;
  }

  if (request.cookies.get(VISITOR_COOKIE)?.value) {
    return NextResponse.next({ request: { headers: requestHeaders } });
  }

  const token = await identifyVisitor(null);
  if (token) requestHeaders.set(VISITOR_TOKEN_HEADER, token);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  if (token) response.cookies.set(VISITOR_COOKIE, token, visitorCookieOptions(request.headers));
  return response;
}

/** Browser-level prefetches the matcher lets through (speculation rules send Sec-Purpose). */
function isPrefetch(request: NextRequest): boolean {
  const purpose = `${request.headers.get("sec-purpose") ?? ""} ${request.headers.get("purpose") ?? ""}`;
  return /prefetch|prerender/i.test(purpose);
}

export const config = {
  matcher: [
    {
      // pages only: not API routes, Next's assets or files
      source: "/((?!api/|_next/static|_next/image|favicon.ico|robots.txt|sitemap.xml|.*\\..*).*)",
      // Next's router prefetches carry these (Proxy cannot read them itself: Next strips them)
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
