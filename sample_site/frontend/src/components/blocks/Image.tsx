/** ImageChooserBlock: a Wagtail image, served by Tailor's origin (relative URLs are resolved there). */
import { PUBLIC_TAILOR_API } from "@/lib/tailor/config";

interface ImageData {
  url: string;
  title: string;
  description: string;
  width: number;
  height: number;
}

export function Image({ image }: { image: ImageData }) {
  const src = /^https?:\/\//.test(image.url) ? image.url : `${PUBLIC_TAILOR_API}${image.url}`;
  return (
    // A plain <img>: next/image would need Tailor's host in `images.remotePatterns`.
    // eslint-disable-next-line @next/next/no-img-element
    <img
      className="block-image"
      src={src}
      alt={image.description || image.title}
      width={image.width}
      height={image.height}
      loading="lazy"
    />
  );
}
