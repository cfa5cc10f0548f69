"use client";
/** When the page's content cannot be read at all (Tailor down and nothing cached). */
export default function Error({ reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <main>
      <h1>This page is not available right now</h1>
      <button type="button" onClick={() => reset()}>
        Try again
      </button>
    </main>
  );
}
