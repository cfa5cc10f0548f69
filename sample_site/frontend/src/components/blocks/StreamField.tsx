/** A page body: ordinary blocks as they are, personalized regions by their decision. */
import type { BodyBlock, Decision } from "@/lib/tailor/page";
import { ContentBlock } from "./ContentBlock";
import { PersonalizedRegion } from "./PersonalizedRegion";

export function StreamField({
  blocks,
  decisions,
  preview = false,
}: {
  blocks: BodyBlock[];
  /** By slot id; empty when Tailor could not decide (every region shows its default). */
  decisions: Map<string, Decision>;
  preview?: boolean;
}) {
  return (
    <>
      {blocks.map((block, index) =>
        block.__typename === "PersonalizedBlock" ? (
          <PersonalizedRegion
            key={block.id ?? index}
            block={block}
            decision={decisions.get(block.slotId)}
            preview={preview}
          />
        ) : (
          <ContentBlock key={block.id ?? index} block={block} />
        ),
      )}
    </>
  );
}
