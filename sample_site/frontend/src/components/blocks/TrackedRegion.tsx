"use client";
/**
 * Around each personalized region: an IMPRESSION when the region becomes visible (once), and a
 * CONVERSION (goal "cta") when a CTA inside it (`[data-tailor-cta]`) is clicked, both through the
 * beacon with the region's decision token. `data-slot` / `data-variant` let tests and analytics find
 * regions; `data-impression` / `data-conversion` turn "sent" once the event is on its way.
 */
import { useEffect, useRef, useState, type MouseEvent, type ReactNode } from "react";
import { sendEvent } from "@/lib/tailor/beacon";

export function TrackedRegion({
  slot,
  slotId,
  variant,
  variantName,
  policy,
  token,
  children,
}: {
  slot: string;
  slotId: string;
  variant: string;
  variantName: string;
  policy: string;
  /** The decision's token; "" sends nothing (preview, or no decision). */
  token: string;
  children: ReactNode;
}) {
  const ref = useRef<HTMLElement>(null);
  const [impression, setImpression] = useState(false);
  const [conversion, setConversion] = useState(false);

  useEffect(() => {
    const element = ref.current;
    if (!token || !element || impression) return;
    if (typeof IntersectionObserver === "undefined") {
      setImpression(sendEvent({ token, kind: "IMPRESSION" }));
      return;
    }
    const observer = new IntersectionObserver(
      (entries) => {
        // Seen: half of it in view, or half a screen of it for a region taller than two screens.
        const seen = entries.some(
          (e) =>
            e.isIntersecting &&
            (e.intersectionRatio >= 0.5 || e.intersectionRect.height >= window.innerHeight / 2),
        );
        if (!seen) return;
        observer.disconnect();
        setImpression(sendEvent({ token, kind: "IMPRESSION" }));
      },
      { threshold: [0, 0.25, 0.5, 0.75, 1] },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [token, impression]);

  function onClick(event: MouseEvent<HTMLElement>) {
    if (!token || conversion) return;
    const cta = (event.target as Element | null)?.closest?.("[data-tailor-cta]");
    if (cta && event.currentTarget.contains(cta)) {
      setConversion(sendEvent({ token, kind: "CONVERSION", goal: "cta" }));
    }
  }

  return (
    <section
      ref={ref}
      className="personalized-region"
      data-slot={slot}
      data-slot-id={slotId}
      data-variant={variant}
      data-variant-name={variantName}
      data-policy={policy}
      data-impression={impression ? "sent" : undefined}
      data-conversion={conversion ? "sent" : undefined}
      onClick={onClick}
    >
      {children}
    </section>
  );
}
