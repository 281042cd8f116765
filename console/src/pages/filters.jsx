// Filter controls shared by the pages: a version picker and a date range.
import { useVersionTags } from "../components.jsx";

export function VersionSelect({ value, onChange, label = "Version", allLabel = "All versions" }) {
  const versions = useVersionTags();
  const id = `version-${label.replace(/\W/g, "").toLowerCase()}`;
  return (
    <label for={id}>
      {label}
      {versions.length ? (
        <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
          <option value="">{allLabel}</option>
          {versions.map((v) => (
            <option value={v.versionTag}>
              {v.versionTag} ({v.status})
            </option>
          ))}
        </select>
      ) : (
        <input id={id} placeholder="e.g. v3" value={value} size={8} onChange={(e) => onChange(e.currentTarget.value.trim())} />
      )}
    </label>
  );
}

export function DateRange({ from, to, onChange }) {
  return (
    <>
      <label for="filter-from">
        From
        <input id="filter-from" type="date" value={from} max={to || undefined} onChange={(e) => onChange({ from: e.currentTarget.value, to })} />
      </label>
      <label for="filter-to">
        To
        <input id="filter-to" type="date" value={to} min={from || undefined} onChange={(e) => onChange({ from, to: e.currentTarget.value })} />
      </label>
    </>
  );
}
