/**
 * PersonalizedBlock: show the content of the variant the decision names ("default": the default
 * content), wrapped in a client component that reports the impression and CTA conversions.
 */
import { contentFor, type Decision, type PersonalizedBlock } from "@/lib/tailor/page";
import { ContentBlock } from "./ContentBlock";
import { TrackedRegion } from "./TrackedRegion";
import { WhyThis } from "./WhyThis";

export function PersonalizedRegion({
  block,
  decision,
  preview,
}: {
  block: PersonalizedBlock;
  decision: Decision | undefined;
  preview: boolean;
}) {
  const content = contentFor(block, decision);
  const variantName = decision?.variantName ?? "Default";
  return (
    <TrackedRegion
      slot={block.slot}
      slotId={block.slotId}
      variant={decision?.variant ?? "default"}
      variantName={variantName}
      policy={decision?.policy ?? "DEFAULT"}
      // No events in preview (drafts' decisions carry no token) or without a decision.
      token={preview ? "" : (decision?.token ?? "")}
    >
      {content.map((child, index) => (
        <ContentBlock key={child.id ?? index} block={child} />
      ))}
      {decision ? <WhyThis decision={decision} open={preview} /> : null}
    </TrackedRegion>
  );
}
