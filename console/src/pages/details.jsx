// A step's or a run's free-form details as nested definition lists (rendered as text, never HTML).
import { num } from "../components.jsx";

export function Details({ value, depth = 0 }) {
  if (value === null || value === undefined) return <span class="muted">–</span>;
  if (typeof value === "number") return <span>{num(value, 4)}</span>;
  if (typeof value !== "object") return <span>{String(value)}</span>;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i + 1), v]) : Object.entries(value);
  if (entries.length === 0) return <span class="muted">none</span>;
  if (depth > 2) return <code>{JSON.stringify(value).slice(0, 300)}</code>;
  return (
    <dl class="details">
      {entries.map(([key, item]) => (
        <>
          <dt>{key}</dt>
          <dd>
            <Details value={item} depth={depth + 1} />
          </dd>
        </>
      ))}
    </dl>
  );
}
