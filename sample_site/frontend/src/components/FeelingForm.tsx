/**
 * "How are you today?": a visitor may tell the site in their own words, in English or Korean. The
 * text goes to Tailor once, as `context.text` (read only with personalization consent, never stored),
 * and the emotion it reads can choose a region's variant — the demo's hero has a cheer-up variant.
 * A plain GET form: it works without JavaScript, and the answer stays in the page's URL, not a cookie.
 */
import { FEELING_MAX_LENGTH, FEELING_PARAM } from "@/lib/tailor/feeling";

const WORDS = {
  en: { label: "How are you today?", placeholder: "In a few words", submit: "Tell us" },
  ko: { label: "오늘 기분이 어떠세요?", placeholder: "몇 마디로 알려 주세요", submit: "보내기" },
} as const;

export function FeelingForm({ language, feeling }: { language: "en" | "ko"; feeling: string }) {
  const words = WORDS[language];
  return (
    <form method="get" className="feeling-form" data-feeling-form="" lang={language}>
      <label>
        {words.label}{" "}
        <input
          type="text"
          name={FEELING_PARAM}
          defaultValue={feeling}
          maxLength={FEELING_MAX_LENGTH}
          placeholder={words.placeholder}
        />
      </label>{" "}
      <button type="submit">{words.submit}</button>
    </form>
  );
}
