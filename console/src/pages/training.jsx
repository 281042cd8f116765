// Training review (reviewers): which agents' corrections may train. Under the `reviewed` training
// policy an agent's "not useful" verdict with their own reply trains only once a different reviewer
// approved it; a reviewer's own correction needs no second approval (and cannot be reviewed by them).
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../api.js";
import { Badge, Empty, Loaded, Pager, clip, num, useApi, useApp, useCursors, when } from "../components.jsx";

const PAGE_SIZE = 20;
const STATUSES = [
  ["pending", "Pending"],
  ["approved", "Approved"],
  ["rejected", "Rejected"],
];

/** The judge's overall scores: the AI's reply against the replies that would replace it. */
function Scores({ scores }) {
  if (!scores) return <span class="muted">No judge's scores yet.</span>;
  const shown = [
    ["AI reply", scores.original],
    ["agent reply", scores.agent],
    ["improved", scores.corrected],
  ].filter(([, score]) => score);
  return (
    <span data-testid="scores">
      Judge's overall score: {shown.map(([name, score]) => `${name} ${num(score.overall)}`).join(" · ")}
    </span>
  );
}

function Column({ title, text, empty }) {
  return (
    <div class="column">
      <span class="label">{title}</span>
      {text ? <p class="text">{text}</p> : <p class="muted">{empty}</p>}
    </div>
  );
}

function ReviewLine({ item }) {
  if (item.review) {
    const { status, reviewedBy, reviewedAt, note } = item.review;
    return (
      <p data-testid="review">
        <Badge value={status} /> by {reviewedBy}, {when(reviewedAt)}
        {note ? ` — “${note}”` : ""}
      </p>
    );
  }
  if (item.byReviewer) return <p class="muted">Written by a reviewer: it trains without a second approval.</p>;
  return <p class="muted">Not reviewed yet.</p>;
}

function Example({ item, checked, onToggle }) {
  return (
    <li class="card" data-id={item.interactionId}>
      <div class="row spread">
        <label class="pick">
          <input type="checkbox" checked={checked} onChange={onToggle} /> Select
          <span class="sr-only"> the correction by {item.submittedBy} of “{clip(item.message, 60)}”</span>
        </label>
        <a href={`#/replay/${encodeURIComponent(item.interactionId)}`}>Open in Replay</a>
      </div>
      <p class="muted" data-testid="example-meta">
        Written by <strong class="author">{item.submittedBy}</strong>
        {item.byReviewer ? " (reviewer)" : ""} · {item.assistantVersion} · {item.topic || "no topic"}
        {item.failureCategory ? ` · ${item.failureCategory.replace(/_/g, " ")}` : ""} · revision {item.revision}
      </p>
      <div class="columns">
        <Column title="Customer message" text={item.message} />
        <Column title="AI reply" text={item.aiReply} />
        <Column title="Agent reply" text={item.agentReply} empty="The agent wrote no reply." />
        <Column title="Improved reply" text={item.correctedReply} empty="No improved reply kept." />
      </div>
      <p>
        <Scores scores={item.judgeScores} />
      </p>
      <ReviewLine item={item} />
    </li>
  );
}

/** What the last Approve / Reject did, and what the API refused with its reason. */
function Outcome({ outcome, messages }) {
  if (!outcome) return null;
  const { approved, rejected, refused } = outcome;
  return (
    <>
      <p class="state ok" role="status" data-testid="review-outcome">
        Approved {approved.length}, rejected {rejected.length}
        {refused.length ? `, ${refused.length} not reviewed` : ""}.
      </p>
      {refused.length > 0 && (
        <div class="state error" role="alert">
          <p>Not reviewed:</p>
          <ul data-testid="refused">
            {refused.map(({ interactionId, reason }) => (
              <li data-id={interactionId}>
                {messages[interactionId] ? `“${clip(messages[interactionId], 60)}”` : interactionId}: {reason}
              </li>
            ))}
          </ul>
        </div>
      )}
    </>
  );
}

export function TrainingReview() {
  const { api } = useApp();
  const [status, setStatus] = useState("pending");
  const [topic, setTopic] = useState("");
  const [topics, setTopics] = useState([]);
  const pages = useCursors();
  const result = useApi(
    (api) => api.get("/training-examples", { status, topic, limit: PAGE_SIZE, cursor: pages.cursor }),
    [status, topic, pages.cursor],
  );
  const [selected, setSelected] = useState([]);
  const [note, setNote] = useState("");
  const [state, setState] = useState({ busy: false, error: null, outcome: null, messages: {} });
  const items = result.data?.items || [];

  useEffect(() => setSelected([]), [status, topic, pages.cursor]);
  useEffect(() => {
    const seen = items.map((item) => item.topic).filter(Boolean);
    if (seen.some((t) => !topics.includes(t))) setTopics([...new Set([...topics, ...seen])].sort());
  }, [result.data]);

  const choose = (patch) => {
    if (patch.status !== undefined) setStatus(patch.status);
    if (patch.topic !== undefined) setTopic(patch.topic);
    pages.reset();
    setState({ busy: false, error: null, outcome: null, messages: {} });
  };
  const toggle = (id) => setSelected(selected.includes(id) ? selected.filter((s) => s !== id) : [...selected, id]);
  const allChecked = items.length > 0 && items.every((item) => selected.includes(item.interactionId));
  const review = async (decision) => {
    const messages = Object.fromEntries(items.map((item) => [item.interactionId, item.message]));
    setState({ busy: true, error: null, outcome: null, messages });
    try {
      const body = { approve: decision === "approve" ? selected : [], reject: decision === "reject" ? selected : [] };
      if (note.trim()) body.note = note.trim();
      const outcome = await api.post("/training-examples/review", body);
      setState({ busy: false, error: null, outcome, messages });
      setSelected([]);
      setNote("");
      result.reload();
    } catch (error) {
      setState({ busy: false, error: describeError(error), outcome: null, messages });
    }
  };

  return (
    <section>
      <h1>Training review</h1>
      <p class="muted">
        Agents' corrections (a “not useful” verdict with their own reply) train the next version only once a different
        reviewer approves them. Newest first.
      </p>
      <div class="row" role="group" aria-label="Review status">
        {STATUSES.map(([value, label]) => (
          <button class={status === value ? "primary" : ""} aria-pressed={status === value} onClick={() => choose({ status: value })}>
            {label}
          </button>
        ))}
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label for="filter-topic">
          Topic
          <input
            id="filter-topic"
            list="known-topics"
            placeholder="any topic"
            size={14}
            value={topic}
            onChange={(e) => choose({ topic: e.currentTarget.value.trim() })}
          />
        </label>
        <datalist id="known-topics">
          {topics.map((t) => (
            <option value={t} />
          ))}
        </datalist>
      </form>
      <form class="bulk" onSubmit={(e) => e.preventDefault()} aria-label="Review the selected corrections">
        <label class="pick">
          <input
            type="checkbox"
            checked={allChecked}
            disabled={items.length === 0}
            onChange={() => setSelected(allChecked ? [] : items.map((item) => item.interactionId))}
          />{" "}
          Select all on this page
        </label>
        <label for="review-note">
          Note (optional)
          <input id="review-note" maxLength={2000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        </label>
        <button type="button" class="primary" disabled={state.busy || selected.length === 0} onClick={() => review("approve")}>
          Approve selected ({selected.length})
        </button>
        <button type="button" disabled={state.busy || selected.length === 0} onClick={() => review("reject")}>
          Reject selected ({selected.length})
        </button>
        {state.busy && (
          <span class="muted" role="status">
            Saving…
          </span>
        )}
      </form>
      {state.error && (
        <p class="state error" role="alert">
          {state.error}
        </p>
      )}
      <Outcome outcome={state.outcome} messages={state.messages} />
      <Loaded result={result} what="Loading corrections">
        {(data) =>
          data.items.length === 0 ? (
            <>
              <Empty>
                {data.nextCursor
                  ? "No corrections on this page match; the next page may have some."
                  : pages.page > 1
                    ? "No more corrections."
                    : `No ${status} corrections${topic ? ` on the topic “${topic}”` : ""}.`}
              </Empty>
              {(data.nextCursor || pages.page > 1) && <Pager pages={pages} nextCursor={data.nextCursor} />}
            </>
          ) : (
            <>
              <ul class="plain" data-testid="training-examples">
                {data.items.map((item) => (
                  <Example item={item} checked={selected.includes(item.interactionId)} onToggle={() => toggle(item.interactionId)} />
                ))}
              </ul>
              <Pager pages={pages} nextCursor={data.nextCursor} />
            </>
          )
        }
      </Loaded>
    </section>
  );
}
