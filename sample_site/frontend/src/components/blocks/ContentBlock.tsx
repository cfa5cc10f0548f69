/** One content block, narrowed on `__typename` (the operation documents select it everywhere). */
import type { ContentBlock as ContentBlockData } from "@/lib/tailor/page";
import { Button } from "./Button";
import { Heading } from "./Heading";
import { Image } from "./Image";
import { Paragraph } from "./Paragraph";

export function ContentBlock({ block }: { block: ContentBlockData }) {
  switch (block.__typename) {
    case "CharBlock":
      return <Heading text={block.value} />;
    case "RichTextBlock":
      return <Paragraph html={block.value} />;
    case "ImageChooserBlock":
      return block.image ? <Image image={block.image} /> : null;
    case "ButtonBlock":
      return <Button label={block.label} url={block.url} />;
    default:
      // A block type this frontend does not render yet: skip it rather than fail the page.
      return null;
  }
}
