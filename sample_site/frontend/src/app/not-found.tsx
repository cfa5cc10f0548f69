export default function NotFound() {
  return (
    <main>
      <title>Page not found</title>
      <h1>Page not found</h1>
      <p>
        <a href="/">Home</a>
      </p>
    </main>
  );
}
