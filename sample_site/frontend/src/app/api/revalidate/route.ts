/**
 * Tailor's publish webhook (`TAILOR["REVALIDATE"] = {"URL": "<frontend>/api/revalidate", "SECRET": ...}`).
 * On publish, unpublish or delete Tailor POSTs
 *   {"event": "published", "tags": ["tailor:page:3", "tailor:pages"], "page": {"id": 3, "urlPath": "/home/", "url": "/"}}
 * with `Authorization: Bearer <secret>`; every tag is revalidated, so the next view reads the new content.
 */
import { timingSafeEqual } from "node:crypto";
import { revalidateTag } from "next/cache";
import type { NextRequest } from "next/server";

const MAX_TAGS = 20;
const TAG_PATTERN = /^tailor:[A-Za-z0-9:_-]{1,200}$/;

function authorized(request: NextRequest, secret: string): boolean {
  const given = Buffer.from(request.headers.get("authorization") ?? "");
  const expected = Buffer.from(`Bearer ${secret}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function POST(request: NextRequest) {
  const secret = process.env.TAILOR_REVALIDATE_SECRET;
  if (!secret) {
    return Response.json({ error: "TAILOR_REVALIDATE_SECRET is not set" }, { status: 503 });
  }
  if (!authorized(request, secret)) {
    return Response.json({ error: "unauthorized" }, { status: 401 });
  }

  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return Response.json({ error: "expected a JSON body" }, { status: 400 });
  }
  const tags = (body as { tags?: unknown } | null)?.tags;
  if (!Array.isArray(tags) || tags.length > MAX_TAGS || !tags.every((t) => typeof t === "string" && TAG_PATTERN.test(t))) {
    return Response.json({ error: `expected "tags": up to ${MAX_TAGS} tags like "tailor:page:3"` }, { status: 400 });
  }

  // A webhook, not a server action: expire now (`{ expire: 0 }`), so the next view reads the new
  // content instead of being served the stale copy while it revalidates (`"max"`).
  for (const tag of tags) revalidateTag(tag, { expire: 0 });

  const event = (body as { event?: unknown }).event;
  return Response.json({ revalidated: tags, event: typeof event === "string" ? event : null, now: Date.now() });
}
