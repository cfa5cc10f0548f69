/**
 * Every Wagtail page, by its path. Per request: the visitor's decisions (uncached); then the page's
 * content (cached per page, revalidated on publish); each region shows the decided variant.
 * In draft mode (a preview), the draft with the context the editor picks.
 */
import { cookies, draftMode, headers } from "next/headers";
import { notFound } from "next/navigation";
import { ConsentBanner } from "@/components/ConsentBanner";
import { FeelingForm } from "@/components/FeelingForm";
import { PreviewBar } from "@/components/PreviewBar";
import { RenewVisitorCookie } from "@/components/RenewVisitorCookie";
import { StreamField } from "@/components/blocks/StreamField";
import { TailorGraphQLError } from "@/lib/tailor/client";
import {
  PREVIEW_COOKIE,
  RECORD_VISIT_HEADER,
  TIMEZONE_COOKIE,
  VISITOR_COOKIE,
  VISITOR_TOKEN_HEADER,
} from "@/lib/tailor/config";
import { feelingFrom, pageLanguage } from "@/lib/tailor/feeling";
import { loadPage, type Decision } from "@/lib/tailor/page";
import {
  isTimezone,
  previewChoices,
  previewContext,
  readPreviewCookie,
  type SearchParams,
} from "@/lib/tailor/preview";

interface Props {
  params: Promise<{ path?: string[] }>;
  searchParams: Promise<SearchParams>;
}

/** Wagtail's url_path form: "/", "/about/", "/blog/post/". */
function toUrlPath(segments: string[] | undefined): string {
  const parts = (segments ?? []).map((s) => decodeURIComponent(s)).filter(Boolean);
  return parts.length ? `/${parts.join("/")}/` : "/";
}

function cookieTimezone(value: string | undefined): string | null {
  try {
    const timezone = value ? decodeURIComponent(value) : null;
    return isTimezone(timezone) ? timezone : null;
  } catch {
    return null;
  }
}

export default async function Page({ params, searchParams }: Props) {
  const { path } = await params;
  // Wagtail slugs have no dots: /favicon.ico and friends are not pages (and cost Tailor no call).
  if (path?.some((segment) => segment.includes("."))) notFound();
  const urlPath = toUrlPath(path);

  const requestHeaders = await headers();
  const cookieStore = await cookies();
  const draft = await draftMode();
  const preview = draft.isEnabled ? readPreviewCookie(cookieStore.get(PREVIEW_COOKIE)?.value) : null;

  // The proxy hands over a token it just minted; later requests carry the cookie.
  const visitorToken =
    requestHeaders.get(VISITOR_TOKEN_HEADER) ?? cookieStore.get(VISITOR_COOKIE)?.value ?? null;
  const choices = preview ? previewChoices(await searchParams) : null;
  // The browser's own timezone (TimezoneCookie sets it); Tailor reads no other source of it but CDN headers.
  const timezone = cookieTimezone(cookieStore.get(TIMEZONE_COOKIE)?.value);
  // What the visitor wrote in "How are you today?" (read by Tailor only with their consent).
  const feeling = preview ? "" : feelingFrom(await searchParams);
  const context = choices
    ? previewContext(choices)
    : timezone || feeling
      ? { ...(timezone ? { timezone } : {}), ...(feeling ? { text: feeling } : {}) }
      : undefined;

  const result = await loadPage({
    urlPath,
    requestHeaders,
    visitorToken,
    // Only the proxy sets this, and not for prefetches: a prefetch is decided without counting a visit.
    recordVisit: !preview && requestHeaders.get(RECORD_VISIT_HEADER) === "1",
    context,
    preview,
  });
  if (!result.found) notFound();
  const { content, decisions, error } = result;

  const bySlot = new Map<string, Decision>((decisions?.decisions ?? []).map((d) => [d.slotId, d]));
  const errorMessage = error
    ? error instanceof TailorGraphQLError && error.fields.length
      ? `${error.message} (${error.fields.join(", ")})`
      : error.message
    : null;
  if (errorMessage && !preview) console.error(`tailor: no decisions for ${urlPath}: ${errorMessage}`);

  return (
    <>
      <title>{content.seoTitle || content.title}</title>
      {content.searchDescription ? <meta name="description" content={content.searchDescription} /> : null}
      {preview && choices ? (
        <PreviewBar
          contentType={preview.contentType}
          choices={choices}
          decisions={decisions?.decisions ?? []}
          error={errorMessage}
        />
      ) : null}
      <main data-page-id={content.id ?? undefined} data-tailor-cache-key={decisions?.cacheKey}>
        <h1>{content.title}</h1>
        {!preview ? <FeelingForm language={pageLanguage(urlPath)} feeling={feeling} /> : null}
        {content.__typename === "HomePage" ? (
          <StreamField blocks={content.body} decisions={bySlot} preview={preview != null} />
        ) : null}
      </main>
      {decisions?.warnings.length ? (
        // e.g. an expired visitor token: the page was decided for a fresh visitor
        <ul className="tailor-warnings" hidden>
          {decisions.warnings.map((w, i) => (
            <li key={i} data-field={w.field ?? ""}>
              {w.message}
            </li>
          ))}
        </ul>
      ) : null}
      {/* an empty token: Sec-GPC / DNT, none issued, so none to store */}
      {!preview && decisions?.visitorToken && decisions.visitorToken !== visitorToken ? <RenewVisitorCookie /> : null}
      {!preview ? <ConsentBanner consent={decisions?.context.consent ?? null} /> : null}
    </>
  );
}
