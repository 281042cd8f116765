// Shared pieces: loading/empty/error states, stat cards, a Chart.js wrapper, formatting.
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
} from "chart.js";
import { createContext } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "./api.js";

// Only what the pages draw (doughnut, line, bar), so the bundle carries no other chart types.
Chart.register(
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  DoughnutController,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
);
Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
Chart.defaults.color = "#333";

export const AppContext = createContext(null);
export const useApp = () => useContext(AppContext);

export const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4", "#57606a"];

/** Fetch on mount and whenever `deps` change; `reload()` fetches again. `load` gets the api. */
export function useApi(load, deps) {
  const { api } = useApp();
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((previous) => ({ ...previous, loading: true, error: null }));
    load(api).then(
      (data) => live && setState({ loading: false, data, error: null }),
      (error) => live && setState({ loading: false, data: null, error }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function Loading({ what = "Loading" }) {
  return (
    <p class="state loading" role="status" aria-live="polite">
      {what}…
    </p>
  );
}

export function ErrorNote({ error }) {
  if (!error) return null;
  return (
    <p class="state error" role="alert">
      {describeError(error)}
    </p>
  );
}

export function Empty({ children }) {
  return <p class="state empty">{children}</p>;
}

/** Loading, then an error in words, else the children (a function of the data). */
export function Loaded({ result, what, children }) {
  if (result.error) return <ErrorNote error={result.error} />;
  if (result.loading && !result.data) return <Loading what={what} />;
  return children(result.data);
}

export function Stat({ label, value, hint, testid }) {
  return (
    <div class="stat" data-testid={testid}>
      <div class="stat-value">{value}</div>
      <div class="stat-label">{label}</div>
      {hint && <div class="stat-hint">{hint}</div>}
    </div>
  );
}

export function ChartView({ type, data, options, label, height = 260 }) {
  const canvas = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    chart.current = new Chart(canvas.current, {
      type,
      data,
      options: { responsive: true, maintainAspectRatio: false, animation: false, ...options },
    });
    return () => chart.current.destroy();
  }, [type, JSON.stringify(data), JSON.stringify(options)]);
  return (
    <div class="chart" style={{ height: `${height}px` }}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}

export function Badge({ value }) {
  return <span class={`badge badge-${String(value).replace(/[^a-z_]/gi, "")}`}>{String(value).replace(/_/g, " ")}</span>;
}

export const pct = (value) => (value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`);
export const num = (value, digits = 2) =>
  value === null || value === undefined ? "–" : Number(value).toLocaleString("en-US", { maximumFractionDigits: digits });
export const day = (iso) => (iso ? String(iso).slice(0, 10) : "–");
export const when = (iso) => (iso ? new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC" : "–");
export const clip = (text, length = 90) => (!text ? "" : text.length > length ? `${text.slice(0, length - 1)}…` : text);

/** Days as YYYY-MM-DD, `offset` days from today (UTC). */
export function isoDay(offset = 0) {
  const date = new Date(Date.now() + offset * 86400000);
  return date.toISOString().slice(0, 10);
}

/** Admin-only versions list, for filters; agents get an empty list (the API would say 403). */
export function useVersionTags() {
  const { session } = useApp();
  const admin = session.roles.includes("admin");
  const result = useApi((api) => (admin ? api.get("/versions") : Promise.resolve({ items: [] })), [admin]);
  return result.data?.items || [];
}

/** Cursor paging: the cursor of every page seen so far, so Previous needs no cursor of its own. */
export function useCursors() {
  const [cursors, setCursors] = useState([null]);
  return {
    cursor: cursors[cursors.length - 1],
    page: cursors.length,
    next: (cursor) => setCursors([...cursors, cursor]),
    previous: () => setCursors(cursors.slice(0, -1)),
    reset: () => setCursors([null]),
  };
}

export function Pager({ pages, nextCursor }) {
  return (
    <div class="pager">
      <button disabled={pages.page === 1} onClick={pages.previous}>
        Previous
      </button>
      <span>Page {pages.page}</span>
      <button disabled={!nextCursor} onClick={() => pages.next(nextCursor)}>
        Next
      </button>
    </div>
  );
}

/** A modal confirmation (<dialog>): Confirm runs `onConfirm`, Cancel or Escape runs `onCancel`. */
export function Confirm({ open, title, children, onConfirm, onCancel, busy }) {
  const dialog = useRef(null);
  useEffect(() => {
    if (open && !dialog.current.open) dialog.current.showModal();
    if (!open && dialog.current.open) dialog.current.close();
  }, [open]);
  return (
    <dialog ref={dialog} onCancel={onCancel} aria-labelledby="confirm-title">
      <h2 id="confirm-title">{title}</h2>
      {children}
      <div class="row">
        <button class="primary" disabled={busy} onClick={onConfirm}>
          {busy ? "Working…" : "Confirm"}
        </button>
        <button disabled={busy} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
