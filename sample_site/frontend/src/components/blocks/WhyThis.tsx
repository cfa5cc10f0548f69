/** "Why am I seeing this?": the decision's reasons, as Tailor words them (translated). */
import type { Decision } from "@/lib/tailor/page";

export function WhyThis({ decision, open = false }: { decision: Decision; open?: boolean }) {
  return (
    <details className="why-this" data-why="" open={open}>
      <summary>Why am I seeing this?</summary>
      <ul>
        {decision.reasons.map((reason, index) => (
          <li key={index}>{reason}</li>
        ))}
      </ul>
      <p className="why-this-meta">
        {decision.variantName} · policy {decision.policy} · probability{" "}
        {Math.round(decision.probability * 1000) / 10}%
      </p>
    </details>
  );
}
