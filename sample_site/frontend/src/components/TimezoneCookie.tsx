"use client";
/**
 * No request header carries the visitor's timezone (unless a CDN adds one), and Tailor never guesses
 * it: time-of-day rules need it. The browser knows it, so keep it in a small cookie the server reads
 * on the next request (and passes as `context.timezone`).
 */
import { useEffect } from "react";
import { TIMEZONE_COOKIE } from "@/lib/tailor/config";

export function TimezoneCookie() {
  useEffect(() => {
    const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!timezone) return;
    const value = encodeURIComponent(timezone);
    if (document.cookie.split("; ").includes(`${TIMEZONE_COOKIE}=${value}`)) return;
    const secure = location.protocol === "https:" ? "; secure" : "";
    document.cookie = `${TIMEZONE_COOKIE}=${value}; path=/; max-age=31536000; samesite=lax${secure}`;
  }, []);
  return null;
}
