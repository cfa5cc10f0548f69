"use client";
/**
 * Rendered when Tailor answered with another visitor token than the cookie's (the old one was
 * renewed, or was invalid and a fresh visitor began): a page cannot set cookies, so ask a server
 * action to store the current token.
 */
import { useEffect, useRef } from "react";
import { renewVisitorCookie } from "@/app/actions";

export function RenewVisitorCookie() {
  const asked = useRef(false);
  useEffect(() => {
    if (asked.current) return;
    asked.current = true;
    renewVisitorCookie().catch(() => undefined);
  }, []);
  return null;
}
