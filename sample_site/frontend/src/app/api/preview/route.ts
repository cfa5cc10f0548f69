/**
 * Wagtail sends the editor here to preview a draft (wagtail-headless-preview):
 *   /api/preview?content_type=home.homepage&token=...
 * Turn draft mode on, keep the token and content type in an httpOnly cookie, and show the page.
 */
import { cookies, draftMode } from "next/headers";
import { redirect } from "next/navigation";
import type { NextRequest } from "next/server";
import { isHttps, PREVIEW_COOKIE } from "@/lib/tailor/config";
import { CONTENT_TYPE_PATTERN } from "@/lib/tailor/preview";

export async function GET(request: NextRequest) {
  const token = request.nextUrl.searchParams.get("token") ?? "";
  const contentType = request.nextUrl.searchParams.get("content_type") ?? "";
  if (!token || token.length > 4096 || !CONTENT_TYPE_PATTERN.test(contentType)) {
    return new Response("Expected ?content_type=app.model&token=... from Wagtail's preview", { status: 400 });
  }

  (await draftMode()).enable();
  (await cookies()).set(PREVIEW_COOKIE, JSON.stringify({ token, contentType }), {
    httpOnly: true,
    sameSite: "lax",
    secure: isHttps(request.headers),
    path: "/",
    // a session cookie, like draft mode's own
  });
  // The token names the page; "/" shows it (the editor picks a context there).
  redirect("/");
}
