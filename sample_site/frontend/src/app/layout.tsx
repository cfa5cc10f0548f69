import type { ReactNode } from "react";
import { TimezoneCookie } from "@/components/TimezoneCookie";
import "./globals.css";

// Each page renders its own <title> and description from its content (React hoists them into <head>).
export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="site-header">
          <a href="/">Tailor example</a>
        </header>
        {children}
        <TimezoneCookie />
      </body>
    </html>
  );
}
