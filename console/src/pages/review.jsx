// Review queue: low-confidence drafts the assistant snoozed. An agent resolves one by giving a
// verdict and, usually, their own reply.
import { useState } from "preact/hooks";
import { describeError } from "../api.js";
import { Empty, Loaded, Pager, num, useApi, useApp, useCursors, when } from "../components.jsx";

function Resolve({ item, onResolved }) {
  const { api } = useApp();
  const [useful, setUseful] = useState(null);
  const [reply, setReply] = useState("");
  const [state, setState] = useState({ busy: false, error: null });
  const submit = async (event) => {
    event.preventDefault();
    setState({ busy: true, error: null });
    try {
      const body = { useful };
      if (reply.trim()) body.agentReply = reply.trim();
      await api.post(`/interactions/${item.interactionId}/feedback`, body);
      onResolved();
    } catch (error) {
      setState({ busy: false, error: describeError(error) });
    }
  };
  const name = `useful-${item.interactionId}`;
  return (
    <form class="resolve" onSubmit={submit}>
      <fieldset>
        <legend>Was the draft useful?</legend>
        <label>
          <input type="radio" name={name} checked={useful === true} onChange={() => setUseful(true)} /> Yes
        </label>
        <label>
          <input type="radio" name={name} checked={useful === false} onChange={() => setUseful(false)} /> No
        </label>
      </fieldset>
      <label for={`reply-${item.interactionId}`}>Your reply (optional)</label>
      <textarea id={`reply-${item.interactionId}`} rows={3} value={reply} onInput={(e) => setReply(e.currentTarget.value)} />
      <div class="row">
        <button type="submit" disabled={useful === null || state.busy}>
          {state.busy ? "Saving…" : "Resolve"}
        </button>
        {state.error && (
          <span class="state error" role="alert">
            {state.error}
          </span>
        )}
      </div>
    </form>
  );
}

export function ReviewQueue() {
  const pages = useCursors();
  const result = useApi((api) => api.get("/review-queue", { limit: 20, cursor: pages.cursor }), [pages.cursor]);
  return (
    <section>
      <h1>Review queue</h1>
      <p class="muted">Drafts with low confidence are held back for a person. Oldest first.</p>
      <Loaded result={result} what="Loading the queue">
        {(data) =>
          data.items.length === 0 && pages.page === 1 ? (
            <Empty>Nothing to review: every snoozed draft has a verdict.</Empty>
          ) : (
            <>
            <ul class="plain" data-testid="review-queue">
              {data.items.map((item) => (
                <li class="card" data-id={item.interactionId}>
                  <p class="muted">
                    {item.assistantVersion} · {item.topic || "no topic"} · confidence {num(item.confidence)} · {when(item.createdAt)}
                  </p>
                  <div class="grid2 compact">
                    <p class="text">
                      <span class="label">Customer</span>
                      {item.message}
                    </p>
                    <p class="text">
                      <span class="label">AI draft</span>
                      {item.aiReply}
                    </p>
                  </div>
                  <Resolve item={item} onResolved={result.reload} />
                </li>
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
