// Retrain runs (admin): each weekly (or manual) run, its steps and outcome; start one now.
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../api.js";
import { Badge, Empty, Loaded, useApi, useApp, when } from "../components.jsx";
import { Details } from "./details.jsx";

const STEP_TITLES = {
  begin: "Begin",
  export: "Export training data",
  skip: "Skipped",
  train: "Train",
  register: "Register candidate",
  evaluate: "Evaluate against the incumbent",
  promote: "Promotion decision",
  fail: "Failed",
};

function RunDetail({ id }) {
  const result = useApi((api) => api.get(`/retrain-runs/${encodeURIComponent(id)}`), [id]);
  const running = result.data?.status === "running";
  useEffect(() => {
    if (!running) return undefined;
    const timer = setTimeout(result.reload, 2000);
    return () => clearTimeout(timer);
  }, [running, result.data]);
  return (
    <section>
      <p>
        <a href="#/retrain">← All runs</a>
      </p>
      <h1>Retrain run</h1>
      <Loaded result={result} what="Loading the run">
        {(run) => (
          <>
            <p data-testid="run-status">
              <Badge value={run.status} /> {run.reason || (running ? "Running… this page refreshes by itself." : "")}
            </p>
            <dl class="details">
              <dt>Run</dt>
              <dd>{run.runId}</dd>
              <dt>Started</dt>
              <dd>
                {when(run.createdAt)} by {run.requestedBy || run.trigger || "the schedule"}
              </dd>
              <dt>Finished</dt>
              <dd>{when(run.finishedAt)}</dd>
              <dt>Trainer</dt>
              <dd>{run.trainer || "–"}</dd>
              <dt>Candidate</dt>
              <dd>{run.candidateVersion || "–"}</dd>
            </dl>
            <ol class="steps" data-testid="steps">
              {Object.entries(run.steps).map(([name, step]) => {
                const { outcome, at, ...details } = step;
                return (
                  <li class="card">
                    <div class="row spread">
                      <h2>{STEP_TITLES[name] || name}</h2>
                      <span>
                        <Badge value={outcome} /> <span class="muted">{when(at)}</span>
                      </span>
                    </div>
                    <Details value={details} />
                  </li>
                );
              })}
            </ol>
          </>
        )}
      </Loaded>
    </section>
  );
}

function RunList() {
  const { api } = useApp();
  const result = useApi((api) => api.get("/retrain-runs"), []);
  const [state, setState] = useState({ busy: false, error: null });
  const start = async () => {
    if (!window.confirm("Start a retrain run now? It exports last week's failed replies, trains a candidate and promotes it only if it wins.")) return;
    setState({ busy: true, error: null });
    try {
      const created = await api.post("/retrain-runs", {});
      window.location.hash = `#/retrain/${encodeURIComponent(created.runId)}`;
    } catch (error) {
      setState({ busy: false, error: describeError(error) });
    }
  };
  return (
    <section>
      <h1>Retrain runs</h1>
      <div class="row">
        <button class="primary" disabled={state.busy} onClick={start}>
          {state.busy ? "Starting…" : "Start a run now"}
        </button>
        {state.error && (
          <span class="state error" role="alert">
            {state.error}
          </span>
        )}
      </div>
      <Loaded result={result} what="Loading runs">
        {(data) =>
          data.items.length === 0 ? (
            <Empty>No retrain runs yet. The weekly schedule starts one; so does “Start a run now”.</Empty>
          ) : (
            <div class="table-wrap">
              <table data-testid="retrain-runs">
                <thead>
                  <tr>
                    <th scope="col">Started</th>
                    <th scope="col">Status</th>
                    <th scope="col">Trainer</th>
                    <th scope="col">Candidate</th>
                    <th scope="col">Why</th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((run) => (
                    <tr>
                      <td class="nowrap">
                        <a href={`#/retrain/${encodeURIComponent(run.runId)}`}>{when(run.createdAt)}</a>
                      </td>
                      <td>
                        <Badge value={run.status} />
                      </td>
                      <td>{run.trainer || "–"}</td>
                      <td>{run.candidateVersion || "–"}</td>
                      <td>{run.reason || "–"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </section>
  );
}

export function RetrainRuns({ params }) {
  return params[0] ? <RunDetail id={params[0]} /> : <RunList />;
}
