/**
 * Draft preview: which draft, the context picker (a GET form: the choices live in the URL), and every
 * decision with all its reasons.
 */
import type { Decision } from "@/lib/tailor/page";
import { DEVICE_KINDS, PREVIEW_TIMEZONES, WEATHER_CONDITIONS, type PreviewChoices } from "@/lib/tailor/preview";

export function PreviewBar({
  contentType,
  choices,
  decisions,
  error,
}: {
  contentType: string;
  choices: PreviewChoices;
  decisions: Decision[];
  error: string | null;
}) {
  const timezones: string[] = [...PREVIEW_TIMEZONES];
  if (choices.timezone && !timezones.includes(choices.timezone)) timezones.unshift(choices.timezone);
  return (
    <aside className="preview-bar" data-preview="">
      <p>
        <strong>Preview</strong> of the latest draft ({contentType}). Nothing is recorded.{" "}
        <a href="/api/preview/exit">Leave preview</a>
      </p>
      <form method="get" className="preview-context">
        <label>
          Timezone{" "}
          <select name="timezone" defaultValue={choices.timezone}>
            <option value="">(from the request)</option>
            {timezones.map((tz) => (
              <option key={tz} value={tz}>
                {tz}
              </option>
            ))}
          </select>
        </label>
        <label>
          Time{" "}
          <input type="datetime-local" name="now" defaultValue={choices.now} />
        </label>
        <label>
          Weather{" "}
          <select name="weather" defaultValue={choices.weather}>
            <option value="">(unknown)</option>
            {WEATHER_CONDITIONS.map((w) => (
              <option key={w} value={w}>
                {w.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <label>
          Device{" "}
          <select name="device" defaultValue={choices.device}>
            <option value="">(from the User-Agent)</option>
            {DEVICE_KINDS.map((d) => (
              <option key={d} value={d}>
                {d.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Decide again</button>
      </form>
      {error ? <p className="preview-error">{error}</p> : null}
      <table className="preview-decisions">
        <thead>
          <tr>
            <th>Region</th>
            <th>Shows</th>
            <th>Policy</th>
            <th>Why</th>
          </tr>
        </thead>
        <tbody>
          {decisions.map((d) => (
            <tr key={d.slotId} data-preview-slot={d.slot}>
              <td>{d.slot}</td>
              <td>{d.variantName}</td>
              <td>
                {d.policy} ({Math.round(d.probability * 1000) / 10}%)
              </td>
              <td>
                <ul>
                  {d.reasons.map((r, i) => (
                    <li key={i}>{r}</li>
                  ))}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </aside>
  );
}
