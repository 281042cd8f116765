// Versions (admin): every assistant version with its status, two compared side by side, and
// activate / roll back behind a confirmation.
import { useState } from "preact/hooks";
import { describeError } from "../api.js";
import { Badge, COLORS, ChartView, Confirm, Empty, Loaded, num, pct, useApi, useApp, when } from "../components.jsx";

function Compare({ versions }) {
  const sorted = [...versions].sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  const active = versions.find((v) => v.status === "active");
  const [a, setA] = useState(sorted.length > 1 ? sorted[sorted.length - 2].versionTag : sorted[0]?.versionTag || "");
  const [b, setB] = useState(active?.versionTag || sorted[sorted.length - 1]?.versionTag || "");
  const result = useApi((api) => (a && b ? api.get("/versions/compare", { a, b, days: 30 }) : Promise.resolve(null)), [a, b]);
  const picker = (id, label, value, set) => (
    <label for={id}>
      {label}
      <select id={id} value={value} onChange={(e) => set(e.currentTarget.value)}>
        {sorted.map((v) => (
          <option value={v.versionTag}>{v.versionTag}</option>
        ))}
      </select>
    </label>
  );
  const rows = [
    ["Verdicts", (s) => num(s.total, 0)],
    ["Useful", (s) => pct(s.total ? s.usefulRate : null)],
    ["Override rate", (s) => pct(s.total ? s.overrideRate : null)],
    ["Mean confidence", (s) => num(s.meanConfidence)],
    ["Snooze rate", (s) => pct(s.interactions ? s.snoozeRate : null)],
    ["Interactions", (s) => num(s.interactions, 0)],
    ["Tokens", (s) => num(s.promptTokens + s.completionTokens, 0)],
    ["Cost (USD)", (s) => num(s.costUsd, 4)],
  ];
  return (
    <div class="card">
      <h2>Compare two versions (last 30 days)</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        {picker("compare-a", "A", a, setA)}
        {picker("compare-b", "B", b, setB)}
      </form>
      <Loaded result={result} what="Comparing">
        {(data) =>
          data && (
            <>
              <div class="table-wrap">
                <table data-testid="compare">
                  <thead>
                    <tr>
                      <th scope="col">Measure</th>
                      {data.versions.map((s) => (
                        <th scope="col">{s.version.versionTag}</th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map(([label, show]) => (
                      <tr>
                        <th scope="row">{label}</th>
                        {data.versions.map((s) => (
                          <td class="n">{show(s)}</td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <ChartView
                type="line"
                label="Share of useful verdicts per day for each version"
                data={{
                  labels: data.versions[0].dailyBreakdown.map((d) => d.date),
                  datasets: data.versions.map((s, i) => ({
                    label: s.version.versionTag,
                    data: s.dailyBreakdown.map((d) => (d.total ? Math.round((d.useful / d.total) * 1000) / 10 : null)),
                    borderColor: COLORS[i],
                    backgroundColor: COLORS[i],
                    spanGaps: true,
                  })),
                }}
                options={{ scales: { y: { min: 0, max: 100, title: { display: true, text: "% useful" } } } }}
              />
            </>
          )
        }
      </Loaded>
    </div>
  );
}

// A base model that shuts down within 60 days (or already has): the version stops drafting then.
function shutdownSoon(day) {
  return new Date(`${day}T00:00:00Z`).getTime() - Date.now() < 60 * 86400 * 1000;
}

export function Versions() {
  const { api } = useApp();
  const result = useApi((api) => api.get("/versions"), []);
  const [pending, setPending] = useState(null);
  const [state, setState] = useState({ busy: false, error: null, done: null });
  const activate = async () => {
    setState({ busy: true, error: null, done: null });
    try {
      await api.post(`/versions/${encodeURIComponent(pending.versionTag)}/activate`);
      setState({ busy: false, error: null, done: `${pending.versionTag} is now the active version.` });
      setPending(null);
      result.reload();
    } catch (error) {
      setState({ busy: false, error: describeError(error), done: null });
      setPending(null);
    }
  };
  return (
    <section>
      <h1>Versions</h1>
      {state.done && (
        <p class="state ok" role="status">
          {state.done}
        </p>
      )}
      {state.error && (
        <p class="state error" role="alert">
          {state.error}
        </p>
      )}
      <Loaded result={result} what="Loading versions">
        {(data) =>
          data.items.length === 0 ? (
            <Empty>No assistant versions yet.</Empty>
          ) : (
            <>
              <div class="table-wrap">
                <table data-testid="versions">
                  <thead>
                    <tr>
                      <th scope="col">Version</th>
                      <th scope="col">Status</th>
                      <th scope="col">Model</th>
                      <th scope="col">Endpoint</th>
                      <th scope="col">Base model shutdown</th>
                      <th scope="col">Prompt</th>
                      <th scope="col">Trainer</th>
                      <th scope="col">Created</th>
                      <th scope="col">Description</th>
                      <th scope="col">
                        <span class="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.items.map((v) => (
                      <tr data-version={v.versionTag}>
                        <th scope="row">{v.versionTag}</th>
                        <td>
                          <Badge value={v.status} />
                        </td>
                        <td>{v.model}</td>
                        <td>{v.endpoint}</td>
                        <td class="nowrap" data-testid="shutdown">
                          {v.baseModelShutdown ? (
                            <span class={shutdownSoon(v.baseModelShutdown) ? "state error" : undefined}>{v.baseModelShutdown}</span>
                          ) : (
                            "none announced"
                          )}
                        </td>
                        <td>
                          {v.promptName} v{v.promptVersion}
                        </td>
                        <td>{v.trainer}</td>
                        <td class="nowrap">{when(v.createdAt)}</td>
                        <td>{v.description}</td>
                        <td>
                          {v.status !== "active" && (
                            <button onClick={() => setPending(v)}>{v.status === "candidate" ? "Activate" : "Roll back to"} {v.versionTag}</button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Compare versions={data.items} />
            </>
          )
        }
      </Loaded>
      <Confirm
        open={Boolean(pending)}
        busy={state.busy}
        title={pending ? `Make ${pending.versionTag} the active version?` : ""}
        onConfirm={activate}
        onCancel={() => setPending(null)}
      >
        <p>
          New drafts will use {pending?.versionTag} ({pending?.model} on the {pending?.endpoint} endpoint, prompt {pending?.promptName} v{pending?.promptVersion}). The
          version active now is frozen and can be rolled back to.
        </p>
        {pending?.baseModelShutdown && (
          <p>Its base model shuts down on {pending.baseModelShutdown}: it will stop drafting then.</p>
        )}
      </Confirm>
    </section>
  );
}
