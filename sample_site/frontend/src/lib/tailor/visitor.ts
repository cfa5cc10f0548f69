/** The visitor's token: minted or renewed by Tailor's `identifyVisitor`, kept in an httpOnly cookie. */
import { IdentifyVisitorDocument } from "@/gql/graphql";
import { tailorRequest } from "./client";

/**
 * A token for this visitor: the one they have while it is valid and fresh, a renewed one when it is
 * old, a fresh visitor's when it is missing, invalid or expired. Records nothing (no visit, no
 * profile), so it needs none of the visitor's headers. null when Tailor cannot be reached in time
 * (the page then renders for an anonymous visitor).
 */
export async function identifyVisitor(visitorToken: string | null, timeoutMs = 1500): Promise<string | null> {
  try {
    const data = await tailorRequest(
      IdentifyVisitorDocument,
      { visitorToken },
      { fetch: { cache: "no-store" }, timeoutMs },
    );
    return data.identifyVisitor?.visitorToken ?? null;
  } catch (e) {
    console.warn("tailor: identifyVisitor failed:", e instanceof Error ? e.message : e);
    return null;
  }
}
