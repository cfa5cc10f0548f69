/**
 * A small typed GraphQL client for Tailor over fetch (server side: pages, actions, route handlers,
 * the proxy). Documents are the generated `TypedDocumentString`s of ../../graphql/operations/, so
 * variables and results are typed by the contract.
 *
 * - `method: "GET"` puts the query in the URL (`/graphql/?query=...&variables=...`): use it for content
 *   that is the same for every visitor, with Next's cache options (`next: { tags, revalidate }`).
 * - POST (the default) for everything per visitor, with `cache: "no-store"`.
 *
 * Errors have one shape: GraphQL errors carry `extensions.field` (the input at fault) and are thrown
 * as `TailorGraphQLError`; mutation payloads carry `errors { field message }` as data.
 */
import type { TypedDocumentString } from "@/gql/graphql";
import { TAILOR_API_URL } from "./config";

export interface TailorErrorDetail {
  message: string;
  path?: (string | number)[];
  extensions?: { field?: string | null; [key: string]: unknown };
}

export class TailorGraphQLError extends Error {
  readonly errors: TailorErrorDetail[];
  readonly status: number;

  constructor(errors: TailorErrorDetail[], status: number) {
    super(errors.map((e) => e.message).join("; ") || `Tailor answered HTTP ${status}`);
    this.name = "TailorGraphQLError";
    this.errors = errors;
    this.status = status;
  }

  /** The input fields at fault (`extensions.field`), e.g. ["context.timezone"]. */
  get fields(): string[] {
    return this.errors.map((e) => e.extensions?.field).filter((f): f is string => typeof f === "string");
  }
}

type FetchOptions = Omit<RequestInit, "body" | "method"> & {
  next?: { revalidate?: number | false; tags?: string[] };
};

export interface RequestOptions {
  method?: "GET" | "POST";
  /** Passed to fetch: `cache`, `next: { tags, revalidate }`, `signal`, extra `headers`. */
  fetch?: FetchOptions;
  /** Abort after this many milliseconds (default 5000). */
  timeoutMs?: number;
}

/** Run one operation against Tailor's /graphql/; the data, or a thrown TailorGraphQLError. */
export async function tailorRequest<TResult, TVariables extends Record<string, unknown>>(
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  options: RequestOptions = {},
): Promise<TResult> {
  const { method = "POST", fetch: init = {}, timeoutMs = 5000 } = options;
  const query = compact(document.toString());
  const vars = withoutUndefined(variables);
  const headers = new Headers(init.headers);
  headers.set("Accept", "application/json");

  let url = `${TAILOR_API_URL}/graphql/`;
  let body: string | undefined;
  if (method === "GET") {
    const params = new URLSearchParams({ query });
    if (Object.keys(vars).length) params.set("variables", JSON.stringify(vars));
    url += `?${params}`;
  } else {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify({ query, variables: vars });
  }

  const signal = init.signal ?? AbortSignal.timeout(timeoutMs);
  const response = await fetch(url, { ...init, method, headers, body, signal });
  let payload: { data?: TResult | null; errors?: TailorErrorDetail[] };
  try {
    payload = await response.json();
  } catch {
    throw new TailorGraphQLError([], response.status);
  }
  if (payload.errors?.length) throw new TailorGraphQLError(payload.errors, response.status);
  if (!response.ok || payload.data == null) throw new TailorGraphQLError([], response.status);
  return payload.data;
}

/**
 * The document with runs of whitespace (and commas, which GraphQL ignores) collapsed outside string
 * literals: a shorter GET URL, and one spelling per document, so one cache entry.
 */
export function compact(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const ch = source[i];
    if (ch === '"') {
      // copy a string literal ("..." or """...""") untouched
      const block = source.startsWith('"""', i);
      const end = block ? source.indexOf('"""', i + 3) : findQuote(source, i + 1);
      const stop = end < 0 ? source.length : end + (block ? 3 : 1);
      out += source.slice(i, stop);
      i = stop;
    } else if (ch === "#") {
      while (i < source.length && source[i] !== "\n") i++; // a comment
    } else if (/[\s,]/.test(ch)) {
      while (i < source.length && /[\s,]/.test(source[i])) i++;
      const prev = out[out.length - 1];
      const next = source[i];
      // keep one space only between two name characters (or a spread and a name)
      if (prev && next && /[\w.]/.test(prev) && /[\w.$"]/.test(next)) out += " ";
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

function findQuote(source: string, from: number): number {
  for (let i = from; i < source.length; i++) {
    if (source[i] === "\\") i++;
    else if (source[i] === '"') return i;
  }
  return -1;
}

/** JSON drops undefined anyway; dropping it here keeps GET URLs (and so cache keys) canonical. */
function withoutUndefined(variables: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(variables).filter(([, v]) => v !== undefined));
}
