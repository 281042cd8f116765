// Retrain runs (admin): each weekly (or manual) run, its steps and outcome, the evaluation's evidence;
// approve or reject a candidate that passed the gate; start a run now.
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../api.js";
import { Badge, Confirm, Empty, Loaded, Stat, num, pct, useApi, useApp, when } from "../components.jsx";
import { Details } from "./details.jsx";

const STEP_TITLES = {
  begin: "Begin",
  export: "Export training data",
  skip: "Skipped",
  train: "Train",
  register: "Register candidate",
  evaluate: "Evaluate against the incumbent",
  approval: "Approval",
  promote: "Promotion decision",
  fail: "Failed",
};

/** The gate's evidence: held-out cases only, both means, the paired gain with its 95% interval. */
function Evidence({ evaluation: e }) {
  return (
    <div class="card" data-testid="evidence">
      <h2>Evidence</h2>
      <div class="evidence">
        <Stat testid="stat-cases" label="Held-out cases" value={num(e.cases, 0)} />
        <Stat testid="stat-candidate-mean" label="Candidate mean" value={num(e.candidateMean)} />
        <Stat testid="stat-incumbent-mean" label="Incumbent mean" value={num(e.incumbentMean)} />
        <Stat
          testid="stat-gain"
          label="Gain"
          value={num(e.gain)}
          hint={e.ci95 ? `95% interval ${num(e.ci95[0])} to ${num(e.ci95[1])}` : "no interval"}
        />
        <Stat testid="stat-wlt" label="Wins / losses / ties" value={`${e.wins} / ${e.losses} / ${e.ties}`} />
        <Stat testid="stat-loss-share" label="Loss share" value={pct(e.lossShare)} />
      </div>
      <h3>Worst regressions</h3>
      {e.worstRegressions.length === 0 ? (
        <Empty>The candidate lost no case.</Empty>
      ) : (
        <ol data-testid="worst-regressions">
          {e.worstRegressions.map((interactionId) => (
            <li>
              <a href={`#/replay/${encodeURIComponent(interactionId)}`}>Interaction {interactionId}</a>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/** The gepa trainer's search: its budget spent, the candidates it explored and the prompt it chose. */
function GepaSearch({ progress: p }) {
  const chosen = p.chosen;
  return (
    <div class="card" data-testid="gepa-search">
      <h2>Prompt search (GEPA)</h2>
      <div class="evidence">
        <Stat testid="stat-metric-calls" label="Metric calls" value={`${p.metricCalls} / ${p.budget}`} hint="drafts scored by the judge, of the budget" />
        <Stat testid="stat-llm-calls" label="LLM calls" value={num(p.llmCalls, 0)} hint={`${p.invocations} invocation(s), ${p.iterations} iteration(s)`} />
        <Stat testid="stat-candidates" label="Candidates" value={num(p.candidates.count, 0)} />
        <Stat
          testid="stat-best-score"
          label="Best validation score"
          value={num(p.bestScore)}
          hint={`incumbent prompt ${num(p.seedScore)} on ${p.valCases} ${p.valSplit} cases`}
        />
      </div>
      <div class="table-wrap">
        <table data-testid="gepa-candidates">
          <caption>Candidates by validation score (0–1)</caption>
          <thead>
            <tr>
              <th scope="col">Candidate</th>
              <th scope="col">From</th>
              <th scope="col">Validation score</th>
              <th scope="col">Found at metric call</th>
            </tr>
          </thead>
          <tbody>
            {p.candidates.items.map((c) => (
              <tr>
                <th scope="row">
                  {c.index === 0 ? "0 (incumbent prompt)" : c.index}
                  {c.index === p.bestCandidate ? " – best" : ""}
                </th>
                <td>{c.parent === null ? "–" : c.parent}</td>
                <td class="n">{num(c.validationScore, 3)}</td>
                <td class="n">{c.foundAtMetricCall}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {chosen && (
        <details data-testid="gepa-diff">
          <summary>Chosen prompt v{chosen.promptVersion} against the incumbent</summary>
          <p>
            <a href="#/prompts">Prompts</a> shows it word by word, with its notes.
          </p>
          <pre>{chosen.diff}</pre>
        </details>
      )}
    </div>
  );
}

/** A candidate that passed the gate waits for a person: approve (promote it) or reject, after a confirmation. */
function Approval({ run, onDecided }) {
  const { api } = useApp();
  const [decision, setDecision] = useState(null); // "approve" | "reject" while the dialog is open
  const [note, setNote] = useState("");
  const [state, setState] = useState({ busy: false, error: null });
  const decide = async () => {
    setState({ busy: true, error: null });
    try {
      await api.post(`/retrain-runs/${encodeURIComponent(run.runId)}/${decision}`, note.trim() ? { note: note.trim() } : {});
      setState({ busy: false, error: null });
      setDecision(null);
      onDecided();
    } catch (error) {
      setState({ busy: false, error: describeError(error) });
      setDecision(null);
    }
  };
  const candidate = run.candidateVersion || "the candidate";
  return (
    <div class="card" data-testid="approval">
      <h2>Awaiting your approval</h2>
      <p>
        {candidate} passed the gate. Approve it to make it the active version, or reject it to keep the incumbent. Nobody
        answering lets the request expire.
      </p>
      <div class="row">
        <button class="primary" onClick={() => setDecision("approve")}>
          Approve {candidate}
        </button>
        <button onClick={() => setDecision("reject")}>Reject {candidate}</button>
      </div>
      {state.error && (
        <p class="state error" role="alert">
          {state.error}
        </p>
      )}
      <Confirm
        open={Boolean(decision)}
        busy={state.busy}
        title={decision === "approve" ? `Approve and promote ${candidate}?` : `Reject ${candidate}?`}
        onConfirm={decide}
        onCancel={() => setDecision(null)}
      >
        <p>
          {decision === "approve"
            ? `New drafts will use ${candidate}. The version active now is frozen and can be rolled back to.`
            : "The version active now stays; the candidate is not promoted."}
        </p>
        <label for="decision-note">Note (optional, kept with the run)</label>
        <textarea id="decision-note" rows={2} maxLength={2000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      </Confirm>
    </div>
  );
}

function RunDetail({ id }) {
  const result = useApi((api) => api.get(`/retrain-runs/${encodeURIComponent(id)}`), [id]);
  const run = result.data;
  const running = run?.status === "running";
  const awaiting = run?.status === "awaiting_approval";
  // The run asks a person once its approval step is waiting; until then, and once a person answered
  // (the waiting run then promotes or not by itself), follow it.
  const approval = run?.steps.approval?.outcome;
  const asking = awaiting && approval === "waiting";
  const following = running || (awaiting && !asking);
  useEffect(() => {
    if (!following) return undefined;
    const timer = setTimeout(result.reload, 2000);
    return () => clearTimeout(timer);
  }, [following, result.data]);
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
              <Badge value={run.status} />{" "}
              {run.reason ||
                (running
                  ? "Running… this page refreshes by itself."
                  : approval === "approved" || approval === "rejected"
                    ? `${approval === "approved" ? "Approved" : "Rejected"}; the run is finishing… this page refreshes by itself.`
                    : awaiting && !asking
                      ? "Passed the gate; preparing the approval… this page refreshes by itself."
                      : "")}
            </p>
            {asking && <Approval run={run} onDecided={result.reload} />}
            {run.evaluation && <Evidence evaluation={run.evaluation} />}
            {run.steps.train?.progress?.candidates && <GepaSearch progress={run.steps.train.progress} />}
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
