/**
 * RichTextBlock: HTML from Wagtail's rich text editor (grapple expands internal links and embeds).
 * It is the site editors' content, rendered as HTML; a site that takes rich text from anyone else
 * sanitizes it first.
 */
export function Paragraph({ html }: { html: string }) {
  return <div className="block-paragraph rich-text" dangerouslySetInnerHTML={{ __html: html }} />;
}
