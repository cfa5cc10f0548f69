/** The visitor's own words about how they feel, from the page's `?feeling=` search parameter. */
import type { SearchParams } from "./preview";

export const FEELING_PARAM = "feeling";
/** The form keeps to this (Tailor refuses a `context.text` over TAILOR["MAX_TEXT_LENGTH"], 2,000 by default). */
export const FEELING_MAX_LENGTH = 500;

export function feelingFrom(params: SearchParams): string {
  const value = params[FEELING_PARAM];
  const text = (Array.isArray(value) ? value[0] : value) ?? "";
  return text.trim().slice(0, FEELING_MAX_LENGTH);
}

/** The page's language for the form's words: Korean pages live under /ko/ in the demo. */
export function pageLanguage(urlPath: string): "en" | "ko" {
  return urlPath === "/ko/" || urlPath.startsWith("/ko/") ? "ko" : "en";
}
