/** CharBlock: a heading. */
export function Heading({ text }: { text: string }) {
  return <h2 className="block-heading">{text}</h2>;
}
