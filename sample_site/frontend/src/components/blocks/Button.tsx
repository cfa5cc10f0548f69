/**
 * ButtonBlock: a call to action. `data-tailor-cta` marks it for the personalized region around it,
 * which reports a click as a CONVERSION (goal "cta") against the region's decision.
 */
export function Button({ label, url }: { label: string; url: string }) {
  return (
    <a className="block-button" href={url} data-tailor-cta="">
      {label}
    </a>
  );
}
