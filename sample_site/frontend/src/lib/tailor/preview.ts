/**
 * Preview of unpublished drafts with a chosen context (wagtail-headless-preview's conventions).
 *
 * Wagtail sends the editor to `<frontend>/api/preview?content_type=home.homepage&token=...`; that
 * route turns Next's draft mode on and keeps the token and content type in a cookie. In draft mode the
 * page asks `personalizedPage(urlPath, previewToken, contentType, context)` for the draft (nothing is
 * recorded, decisions carry no token) with a context the editor picks in the page's search params.
 */
import type { ContextInput, DeviceKind, WeatherCondition } from "@/gql/graphql";
import type { Preview } from "./page";

export const WEATHER_CONDITIONS: readonly WeatherCondition[] = [
  "CLEAR",
  "CLOUDS",
  "FOG",
  "DRIZZLE",
  "RAIN",
  "SNOW",
  "THUNDERSTORM",
];
export const DEVICE_KINDS: readonly DeviceKind[] = ["MOBILE", "TABLET", "DESKTOP", "BOT"];
export const PREVIEW_TIMEZONES = [
  "Asia/Seoul",
  "Asia/Tokyo",
  "Europe/London",
  "Europe/Paris",
  "America/New_York",
  "America/Los_Angeles",
  "UTC",
] as const;

export type SearchParams = Record<string, string | string[] | undefined>;

function one(params: SearchParams, name: string): string {
  const value = params[name];
  return (Array.isArray(value) ? value[0] : value) ?? "";
}

/** The context picker's choices, as given in the search params (validated). */
export interface PreviewChoices {
  timezone: string;
  weather: WeatherCondition | "";
  device: DeviceKind | "";
  /** wall-clock time in `timezone`, "YYYY-MM-DDTHH:MM" */
  now: string;
}

export function previewChoices(params: SearchParams): PreviewChoices {
  const timezone = one(params, "timezone");
  const weather = one(params, "weather").toUpperCase();
  const device = one(params, "device").toUpperCase();
  const now = one(params, "now");
  return {
    timezone: isTimezone(timezone) ? timezone : "",
    weather: (WEATHER_CONDITIONS as readonly string[]).includes(weather) ? (weather as WeatherCondition) : "",
    device: (DEVICE_KINDS as readonly string[]).includes(device) ? (device as DeviceKind) : "",
    now: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(now) ? now : "",
  };
}

/** The choices as Tailor's `context` input (a time without an offset is wall-clock time in `timezone`). */
export function previewContext(choices: PreviewChoices): ContextInput {
  const context: ContextInput = {};
  if (choices.timezone) context.timezone = choices.timezone;
  if (choices.weather) context.weather = { condition: choices.weather };
  if (choices.device) context.device = choices.device;
  if (choices.now) context.now = choices.now;
  return context;
}

/** An IANA timezone this runtime knows (Tailor refuses unknown ones with an error naming the field). */
export function isTimezone(value: string | undefined | null): value is string {
  if (!value || value.length > 64) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** The preview cookie's value: JSON {token, contentType}. */
export function readPreviewCookie(value: string | undefined): Preview | null {
  if (!value) return null;
  try {
    const parsed = JSON.parse(value) as Partial<Preview>;
    if (typeof parsed.token === "string" && typeof parsed.contentType === "string") {
      return { token: parsed.token, contentType: parsed.contentType };
    }
  } catch {
    // not ours
  }
  return null;
}

/** wagtail-headless-preview's content type: "app_label.model". */
export const CONTENT_TYPE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/;
