// Replay (the FeedbackReplayPanel): a filterable, paginated list of verdicts; a row opens the
// interaction side by side — customer, AI, agent, improved — with "Generate Improved Reply" and
// "Explain Reply", which queue a worker and show its result when it lands.
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "../api.js";
import { Badge, Empty, ErrorNote, Loaded, Pager, clip, num, useApi, useApp, useCursors, when } from "../components.jsx";
import { DateRange, VersionSelect } from "./filters.jsx";

const PAGE_SIZE = 20;

export function Replay({ params }) {
  return params[0] ? <InteractionPanel id={params[0]} /> : <ReplayList />;
}

function ReplayList() {
  const [filters, setFilters] = useState({ verdict: "", version: "", from: "", to: "", order: "newest" });
  const pages = useCursors();
  const result = useApi(
    (api) => api.get("/feedback/replay", { ...filters, limit: PAGE_SIZE, cursor: pages.cursor }),
    [JSON.stringify(filters), pages.cursor],
  );
  const change = (patch) => {
    setFilters({ ...filters, ...patch });
    pages.reset();
  };
  return (
    <section>
      <h1>Replay</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label for="filter-verdict">
          Verdict
          <select id="filter-verdict" value={filters.verdict} onChange={(e) => change({ verdict: e.currentTarget.value })}>
            <option value="">Any</option>
            <option value="no">Not useful</option>
            <option value="yes">Useful</option>
          </select>
        </label>
        <VersionSelect value={filters.version} onChange={(version) => change({ version })} />
        <DateRange from={filters.from} to={filters.to} onChange={(range) => change(range)} />
        <label for="filter-order">
          Order
          <select id="filter-order" value={filters.order} onChange={(e) => change({ order: e.currentTarget.value })}>
            <option value="newest">Newest first</option>
            <option value="oldest">Oldest first</option>
          </select>
        </label>
      </form>
      <Loaded result={result} what="Loading verdicts">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No verdicts match these filters.</Empty>
          ) : (
            <>
              <div class="table-wrap">
                <table data-testid="replay-table">
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">Verdict</th>
                      <th scope="col">Version</th>
                      <th scope="col">Customer message</th>
                      <th scope="col">AI reply</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((item) => (
                      <tr>
                        <td class="nowrap">{when(item.createdAt)}</td>
                        <td>
                          <Badge value={item.useful ? "useful" : "not_useful"} />
                        </td>
                        <td>{item.assistantVersion}</td>
                        <td>
                          <a href={`#/replay/${item.interactionId}`}>{clip(item.message)}</a>
                        </td>
                        <td class="muted">{clip(item.aiReply, 70)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager pages={pages} nextCursor={page.nextCursor} />
            </>
          )
        }
      </Loaded>
    </section>
  );
}

const WAIT_MS = 90_000;

/** POST a job, then GET the interaction until `arrived(view)` holds; reports progress as it goes. */
function useJob(id, onUpdate) {
  const { api } = useApp();
  const [job, setJob] = useState(null); // {step, state: running|done|failed, message}
  const live = useRef(true);
  useEffect(() => () => (live.current = false), []);
  const start = async (step, path, arrived) => {
    setJob({ step, state: "running", message: "Queued…" });
    try {
      await api.post(`/interactions/${id}/${path}`);
      const started = Date.now();
      while (live.current && Date.now() - started < WAIT_MS) {
        const seconds = Math.round((Date.now() - started) / 1000);
        setJob({ step, state: "running", message: `The worker is on it… ${seconds} s` });
        const view = await api.get(`/interactions/${id}`);
        if (arrived(view)) {
          onUpdate(view);
          setJob({ step, state: "done", message: "Done." });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      if (live.current) setJob({ step, state: "failed", message: "No result after 90 s. The job is still queued; come back later, or ask an operator to check the dead-letter queues." });
    } catch (error) {
      if (live.current) setJob({ step, state: "failed", message: describeError(error) });
    }
  };
  return [job, start];
}

function Column({ title, text, testid, empty }) {
  return (
    <article class="column" data-testid={testid}>
      <h2>{title}</h2>
      {text ? <p class="text">{text}</p> : <p class="muted">{empty}</p>}
    </article>
  );
}

function Scores({ scores }) {
  const rows = [
    ["AI reply", scores.original],
    ["Improved", scores.corrected],
    ["Agent", scores.agent],
  ].filter(([, s]) => s);
  return (
    <div class="table-wrap">
      <table data-testid="judge-scores">
        <thead>
          <tr>
            <th scope="col">Reply</th>
            <th scope="col">Accuracy</th>
            <th scope="col">Completeness</th>
            <th scope="col">Tone</th>
            <th scope="col">Helpfulness</th>
            <th scope="col">Overall</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([name, s]) => (
            <tr>
              <th scope="row">{name}</th>
              <td class="n">{s.accuracy}</td>
              <td class="n">{s.completeness}</td>
              <td class="n">{s.tone}</td>
              <td class="n">{s.helpfulness}</td>
              <td class="n">{num(s.overall)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const SOURCES = {
  external: "recorded by a frontend",
  replyloop: "drafted by replyloop",
  imported: "imported history",
};

/** Whether this verdict may train, under the `reviewed` policy, and who decided. */
function TrainingStatus({ view }) {
  const { feedback, trainingReview: review } = view;
  if (!feedback || feedback.useful || !feedback.agentReply)
    return <span>Not a training example (that needs a “not useful” verdict with the agent's reply).</span>;
  if (review)
    return (
      <span>
        <Badge value={review.status} /> by {review.reviewedBy}, {when(review.reviewedAt)}
        {review.note ? ` — “${review.note}”` : ""}
      </span>
    );
  if (feedback.byReviewer) return <span>Written by a reviewer: it trains without a second approval.</span>;
  return (
    <span>
      <Badge value="pending" /> waiting for a reviewer
    </span>
  );
}

function History({ history }) {
  if (history.length === 0) return <Empty>No verdict yet.</Empty>;
  return (
    <div class="table-wrap">
      <table data-testid="verdict-history">
        <thead>
          <tr>
            <th scope="col">Revision</th>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">Verdict</th>
            <th scope="col">Agent reply</th>
          </tr>
        </thead>
        <tbody>
          {history.map((entry) => (
            <tr>
              <td class="n">{entry.revision}</td>
              <td class="nowrap">{when(entry.submittedAt)}</td>
              <td>{entry.submittedBy}</td>
              <td>
                <Badge value={entry.verdict === "yes" ? "useful" : "not_useful"} />
              </td>
              <td class="text">{entry.agentReply || <span class="muted">none</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function InteractionPanel({ id }) {
  const result = useApi((api) => api.get(`/interactions/${id}`), [id]);
  const [view, setView] = useState(null);
  const [job, start] = useJob(id, setView);
  const shown = view || result.data;
  const running = job?.state === "running";
  return (
    <section>
      <p>
        <a href="#/replay">← All verdicts</a>
      </p>
      <h1>Interaction</h1>
      <Loaded result={result} what="Loading the interaction">
        {() => (
          <>
            <p class="muted">
              {shown.assistantVersion} · {when(shown.createdAt)} · confidence {num(shown.confidence)}
              {shown.snoozed ? " · snoozed for review" : ""} ·{" "}
              {shown.feedback ? <Badge value={shown.feedback.useful ? "useful" : "not_useful"} /> : "no verdict yet"}
            </p>
            <dl class="details" data-testid="provenance">
              <dt>Source</dt>
              <dd data-testid="source">
                {shown.source} ({SOURCES[shown.source] || "unknown"}
                {shown.externalVersion ? `, which called its version ${shown.externalVersion}` : ""})
              </dd>
              <dt>Training review</dt>
              <dd data-testid="training-review">
                <TrainingStatus view={shown} />
              </dd>
            </dl>
            <div class="columns">
              <Column testid="col-customer" title="Customer message" text={shown.message} />
              <Column testid="col-ai" title="AI reply" text={shown.aiReply} />
              <Column testid="col-agent" title="Agent reply" text={shown.agentReply} empty="The agent did not write a reply." />
              <Column
                testid="col-improved"
                title="Improved reply"
                text={shown.correctedReply}
                empty={shown.improvementRejectedReason ? `No improvement kept: ${shown.improvementRejectedReason}` : "Not generated yet."}
              />
            </div>
            <div class="row actions">
              <button
                disabled={running || !shown.feedback || shown.feedback.useful}
                title={!shown.feedback || shown.feedback.useful ? "An improved reply needs a 'not useful' verdict first." : ""}
                onClick={() => start("improve", "improve", (v) => Boolean(v.correctedReply || v.improvementRejectedReason))}
              >
                Generate Improved Reply
              </button>
              <button disabled={running} onClick={() => start("explain", "explain", (v) => Boolean(v.whyThisReply))}>
                Explain Reply
              </button>
              {job && (
                <span class={`job job-${job.state}`} role="status" aria-live="polite" data-testid="job-status">
                  {job.step === "improve" ? "Improved reply: " : "Explanation: "}
                  {job.message}
                </span>
              )}
            </div>
            <div class="grid2">
              <div class="card">
                <h2>Why it failed</h2>
                {shown.explanation ? (
                  <>
                    <p>
                      <Badge value={shown.failureCategory || "uncategorised"} />
                    </p>
                    <p class="text" data-testid="explanation">{shown.explanation}</p>
                  </>
                ) : (
                  <Empty>No failure explanation (it is written after a "not useful" verdict).</Empty>
                )}
                <h2>Why this reply?</h2>
                {shown.whyThisReply ? (
                  <dl data-testid="why-this-reply">
                    <dt>Tone</dt>
                    <dd>{shown.whyThisReply.tone}</dd>
                    <dt>Content</dt>
                    <dd>{shown.whyThisReply.content}</dd>
                    <dt>Helpfulness</dt>
                    <dd>{shown.whyThisReply.helpfulness}</dd>
                  </dl>
                ) : (
                  <Empty>Not asked yet: press Explain Reply.</Empty>
                )}
              </div>
              <div class="card">
                <h2>Judge's scores</h2>
                {shown.judgeScores ? (
                  <>
                    <Scores scores={shown.judgeScores} />
                    <p data-testid="score-gain">
                      Estimated score gain: <strong>{num(shown.scoreGainEstimate)}</strong>
                    </p>
                    {shown.improvementRationale && <p class="muted">{shown.improvementRationale}</p>}
                  </>
                ) : (
                  <Empty>No scores yet: they come with an improved reply.</Empty>
                )}
              </div>
            </div>
            <div class="card">
              <h2>Verdict history</h2>
              <p class="muted">Every verdict given, oldest first; a change adds a revision and loses nothing.</p>
              <History history={shown.history || []} />
            </div>
            {job?.state === "failed" && <ErrorNote error={new Error(job.message)} />}
          </>
        )}
      </Loaded>
    </section>
  );
}
