// Stress tests (admin): runs, each run's score distributions, win/loss/tie and worst regressions.
import { Badge, COLORS, ChartView, Empty, Loaded, clip, num, pct, useApi, when } from "../components.jsx";

function RunDetail({ id }) {
  const result = useApi((api) => api.get(`/stress-tests/${encodeURIComponent(id)}`), [id]);
  return (
    <section>
      <p>
        <a href="#/stress">← All stress tests</a>
      </p>
      <h1>Stress test</h1>
      <Loaded result={result} what="Loading the stress test">
        {({ run, summary, cases }) => (
          <>
            <p class="muted">
              {run.candidate} (candidate) vs {run.baseline} (baseline) · {run.source} · {when(run.createdAt)} · <Badge value={run.status} />
            </p>
            {!summary ? (
              <Empty>No summary yet: {cases.length} of {run.planned ?? "?"} queries have run.</Empty>
            ) : (
              <>
                <div class="stats">
                  <div class="stat" data-testid="stat-means">
                    <div class="stat-value">
                      {num(summary.baselineMean)} → {num(summary.candidateMean)}
                    </div>
                    <div class="stat-label">mean score, {run.baseline} → {run.candidate}</div>
                  </div>
                  <div class="stat" data-testid="stat-wlt">
                    <div class="stat-value">
                      {summary.wins} / {summary.losses} / {summary.ties}
                    </div>
                    <div class="stat-label">win / loss / tie (loss share {pct(summary.lossShare)})</div>
                  </div>
                  <div class="stat">
                    <div class="stat-value">{num(summary.tokens, 0)}</div>
                    <div class="stat-label">tokens, ${num(summary.costUsd, 4)}</div>
                  </div>
                  <div class="stat">
                    <div class="stat-value">{num(summary.throughputPerSecond)}/s</div>
                    <div class="stat-label">{summary.cases} queries in {num(summary.durationSeconds)} s</div>
                  </div>
                </div>
                <div class="card">
                  <h2>Score distribution</h2>
                  <ChartView
                    type="bar"
                    label={`How many queries scored 1 to 10, for ${run.baseline} and ${run.candidate}`}
                    data={{
                      labels: Object.keys(summary.baselineDistribution),
                      datasets: [
                        { label: `${run.baseline} (baseline)`, data: Object.values(summary.baselineDistribution), backgroundColor: COLORS[0] },
                        { label: `${run.candidate} (candidate)`, data: Object.values(summary.candidateDistribution), backgroundColor: COLORS[3] },
                      ],
                    }}
                    options={{ scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { title: { display: true, text: "score" } } } }}
                  />
                </div>
                <div class="card">
                  <h2>Worst regressions</h2>
                  {summary.worstRegressions.length === 0 ? (
                    <Empty>The candidate did not lose on any query.</Empty>
                  ) : (
                    <div class="table-wrap">
                      <table data-testid="regressions">
                        <thead>
                          <tr>
                            <th scope="col">Change</th>
                            <th scope="col">Customer message</th>
                            <th scope="col">{run.baseline}</th>
                            <th scope="col">{run.candidate}</th>
                          </tr>
                        </thead>
                        <tbody>
                          {summary.worstRegressions.map((c) => (
                            <tr>
                              <td class="n">{num(c.evalScore)}</td>
                              <td>{clip(c.message, 120)}</td>
                              <td>{clip(c.baselineReply, 120)}</td>
                              <td>{clip(c.candidateReply, 120)}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </div>
                  )}
                </div>
              </>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}

function RunList() {
  const result = useApi((api) => api.get("/stress-tests"), []);
  return (
    <section>
      <h1>Stress tests</h1>
      <p class="muted">
        Run one with <code>replyloop stress-test --candidate TAG</code>; the retrain flow's evaluations appear here too.
      </p>
      <Loaded result={result} what="Loading stress tests">
        {(data) =>
          data.items.length === 0 ? (
            <Empty>No stress tests yet.</Empty>
          ) : (
            <div class="table-wrap">
              <table data-testid="stress-tests">
                <thead>
                  <tr>
                    <th scope="col">Started</th>
                    <th scope="col">Candidate vs baseline</th>
                    <th scope="col">Source</th>
                    <th scope="col">Status</th>
                    <th scope="col">Queries</th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((run) => (
                    <tr>
                      <td class="nowrap">
                        <a href={`#/stress/${encodeURIComponent(run.runId)}`}>{when(run.createdAt)}</a>
                      </td>
                      <td>
                        {run.candidate} vs {run.baseline}
                      </td>
                      <td>{run.source}</td>
                      <td>
                        <Badge value={run.status} />
                      </td>
                      <td class="n">{run.summary?.cases ?? run.planned ?? "–"}</td>
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

export function StressTests({ params }) {
  return params[0] ? <RunDetail id={params[0]} /> : <RunList />;
}
