// Leaderboard: the most improved replies, highest estimated score gain first.
import { useState } from "preact/hooks";
import { Badge, Empty, Loaded, clip, day, num, useApi } from "../components.jsx";
import { DateRange } from "./filters.jsx";

export function Leaderboard() {
  const [category, setCategory] = useState("");
  const [range, setRange] = useState({ from: "", to: "" });
  const categories = useApi((api) => api.get("/feedback/analytics", { days: 90, top: 1 }), []);
  const result = useApi(
    (api) => api.get("/improvements/leaderboard", { category, from: range.from, to: range.to, limit: 50 }),
    [category, range.from, range.to],
  );
  return (
    <section>
      <h1>Leaderboard</h1>
      <p class="muted">The replies the learning loop improved most: the AI's reply, the improved one, and the judge's estimated gain.</p>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label for="filter-category">
          Category
          <select id="filter-category" value={category} onChange={(e) => setCategory(e.currentTarget.value)}>
            <option value="">All categories</option>
            {(categories.data?.failureCategories || []).map((c) => (
              <option value={c.category}>{c.category}</option>
            ))}
          </select>
        </label>
        <DateRange from={range.from} to={range.to} onChange={setRange} />
      </form>
      <Loaded result={result} what="Loading the leaderboard">
        {(data) =>
          data.items.length === 0 ? (
            <Empty>No improved replies{category ? ` in “${category}”` : ""} yet. They appear after agents mark replies not useful.</Empty>
          ) : (
            <ol class="leaderboard" data-testid="leaderboard">
              {data.items.map((item) => (
                <li class="card">
                  <div class="row spread">
                    <strong class="gain">+{num(item.scoreGainEstimate, 1)}</strong>
                    <span>
                      <Badge value={item.failureCategory || "uncategorised"} /> <span class="muted">{day(item.createdAt)}</span>
                    </span>
                  </div>
                  <p>
                    <a href={`#/replay/${item.interactionId}`}>{clip(item.prompt, 140)}</a>
                  </p>
                  <div class="grid2 compact">
                    <p class="text">
                      <span class="label">AI reply</span>
                      {item.originalReply}
                    </p>
                    <p class="text">
                      <span class="label">Improved</span>
                      {item.correctedReply}
                    </p>
                  </div>
                </li>
              ))}
            </ol>
          )
        }
      </Loaded>
    </section>
  );
}
