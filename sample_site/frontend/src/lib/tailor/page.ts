/**
 * The caching recipe, server side.
 *
 * 1. DECISIONS, per visitor, never cached (`cache: "no-store"`): `personalizedPage` says which variant
 *    each region shows, why, and the tokens to report events with. It also says which page that is
 *    (`page { id lastPublishedAt }`).
 * 2. CONTENT, the same for every visitor, cached by Next (GET, tags "tailor:pages" and
 *    "tailor:page:<id>", revalidated by Tailor's publish webhook): the page with every region's
 *    default content and all its variants.
 * 3. The page picks each region's content by `decision.variant` ("default" = `defaultContent`).
 *
 * Nothing cached carries a visitor token or a decision token: those live only in the decisions,
 * which are fetched per request and rendered into this visitor's (uncached) HTML.
 */
import {
  PageContentDocument,
  PageDecisionsDocument,
  type ContextInput,
  type PageContentQuery,
  type PageDecisionsQuery,
} from "@/gql/graphql";
import { tailorRequest, TailorGraphQLError } from "./client";
import { CONTENT_REVALIDATE_SECONDS, PAGES_TAG, pageTag } from "./config";
import { forwardedHeaders, type HeaderSource } from "./forward";

export type PageContent = NonNullable<PageContentQuery["page"]>;
export type Decisions = NonNullable<PageDecisionsQuery["personalizedPage"]>;
export type Decision = Decisions["decisions"][number];
export type BodyBlock = Extract<PageContent, { __typename: "HomePage" }>["body"][number];
export type PersonalizedBlock = Extract<BodyBlock, { __typename: "PersonalizedBlock" }>;
export type ContentBlock = PersonalizedBlock["defaultContent"][number];

export interface Preview {
  token: string;
  contentType: string;
}

/** Per visitor: the decisions for `urlPath` (POST, no-store). null when the page does not exist. */
export async function fetchDecisions(args: {
  urlPath: string;
  requestHeaders: HeaderSource;
  visitorToken: string | null;
  recordVisit: boolean;
  context?: ContextInput;
  preview?: Preview | null;
}): Promise<Decisions | null> {
  const data = await tailorRequest(
    PageDecisionsDocument,
    {
      urlPath: args.urlPath,
      inSite: true,
      context: args.context,
      visitorToken: args.visitorToken,
      forwardedHeaders: forwardedHeaders(args.requestHeaders),
      recordVisit: args.recordVisit,
      previewToken: args.preview?.token,
      contentType: args.preview?.contentType,
    },
    { fetch: { cache: "no-store" } },
  );
  return data.personalizedPage;
}

/**
 * The page's content, the same for everyone. Published pages: GET, cached by Next under the page's
 * tags. `fresh: true` skips the cache (the cached copy is older than the decisions' revision).
 * A draft (preview): never cached.
 */
export async function fetchContent(
  page: { id: string } | { urlPath: string } | { preview: Preview },
  { fresh = false } = {},
): Promise<PageContent | null> {
  if ("preview" in page) {
    const data = await tailorRequest(
      PageContentDocument,
      { token: page.preview.token, contentType: page.preview.contentType },
      { fetch: { cache: "no-store" } },
    );
    return data.page;
  }
  const variables = "id" in page ? { id: page.id, inSite: true } : { urlPath: page.urlPath, inSite: true };
  const tags = "id" in page ? [PAGES_TAG, pageTag(page.id)] : [PAGES_TAG];
  const data = await tailorRequest(PageContentDocument, variables, {
    method: "GET",
    fetch: fresh ? { cache: "no-store" } : { next: { tags, revalidate: CONTENT_REVALIDATE_SECONDS } },
  });
  return data.page;
}

/** What a region shows: the content of the decided variant, else its default content. */
export function contentFor(block: PersonalizedBlock, decision: Decision | undefined): ContentBlock[] {
  if (!decision || decision.variant === "default") return block.defaultContent;
  return block.variants.find((v) => v.id === decision.variant)?.content ?? block.defaultContent;
}

/** Whether every decided variant is in the (maybe cached) content: false means the content is stale. */
export function contentHasDecidedVariants(content: PageContent, decisions: Decision[]): boolean {
  if (content.__typename !== "HomePage") return true;
  const known = new Set<string>();
  for (const block of content.body) {
    if (block.__typename !== "PersonalizedBlock") continue;
    known.add(`${block.slotId}:default`);
    for (const v of block.variants) known.add(`${block.slotId}:${v.id}`);
  }
  return decisions.every((d) => known.has(`${d.slotId}:${d.variant}`));
}

/**
 * The decisions; if Tailor refuses the browser-reported timezone (a zone its tz database lacks), once
 * more without it rather than render no decisions at all.
 */
async function fetchDecisionsOnce(args: Parameters<typeof fetchDecisions>[0]): Promise<Decisions | null> {
  try {
    return await fetchDecisions(args);
  } catch (e) {
    const badTimezone = e instanceof TailorGraphQLError && e.fields.includes("context.timezone");
    if (!badTimezone || args.preview || !args.context?.timezone) throw e;
    const { timezone: _dropped, ...context } = args.context;
    return fetchDecisions({ ...args, context });
  }
}

/**
 * Everything a page view needs. If Tailor cannot decide (down, slow, an input error), the page still
 * renders: cached content with every region's default, and the error to show in development.
 */
export async function loadPage(args: {
  urlPath: string;
  requestHeaders: HeaderSource;
  visitorToken: string | null;
  recordVisit: boolean;
  context?: ContextInput;
  preview?: Preview | null;
}): Promise<
  | { found: false }
  | { found: true; content: PageContent; decisions: Decisions | null; error: TailorGraphQLError | Error | null }
> {
  let decisions: Decisions | null = null;
  let error: TailorGraphQLError | Error | null = null;
  try {
    decisions = await fetchDecisionsOnce(args);
    if (!decisions) return { found: false };
  } catch (e) {
    error = e instanceof Error ? e : new Error(String(e));
  }

  let content: PageContent | null;
  if (args.preview) {
    content = await fetchContent({ preview: args.preview });
  } else if (decisions) {
    const id = decisions.page.id;
    content = id ? await fetchContent({ id }) : await fetchContent({ urlPath: args.urlPath });
    // A publish whose webhook has not reached us yet: read this page's content fresh.
    const stale =
      content != null &&
      (content.lastPublishedAt !== decisions.page.lastPublishedAt ||
        !contentHasDecidedVariants(content, decisions.decisions));
    if (stale) content = await fetchContent(id ? { id } : { urlPath: args.urlPath }, { fresh: true });
  } else {
    content = await fetchContent({ urlPath: args.urlPath });
  }
  if (!content) return { found: false };
  return { found: true, content, decisions, error };
}
