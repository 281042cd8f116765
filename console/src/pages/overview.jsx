// Overview: the headline figures and useful vs not useful, for a version and a date range.
import { useState } from "preact/hooks";
import { ChartView, Empty, Loaded, Stat, clip, day, isoDay, num, pct, useApi } from "../components.jsx";
import { DateRange, VersionSelect } from "./filters.jsx";

export function Overview() {
  const [version, setVersion] = useState("");
  const [range, setRange] = useState({ from: isoDay(-29), to: isoDay(0) });
  const result = useApi(
    (api) => api.get("/feedback/analytics", { version, from: range.from, to: range.to, top: 5 }),
    [version, range.from, range.to],
  );
  return (
    <section>
      <h1>Overview</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <VersionSelect value={version} onChange={setVersion} />
        <DateRange from={range.from} to={range.to} onChange={setRange} />
      </form>
      <Loaded result={result} what="Loading the figures">
        {(data) => (
          <>
            <div class="stats">
              <Stat testid="stat-total" label="Verdicts" value={num(data.total, 0)} hint={`${num(data.interactions, 0)} interactions`} />
              <Stat testid="stat-useful-rate" label="Useful" value={pct(data.total ? data.usefulRate : null)} hint={`${num(data.usefulCount, 0)} useful`} />
              <Stat testid="stat-not-useful" label="Not useful" value={num(data.notUsefulCount, 0)} />
              <Stat testid="stat-override-rate" label="Override rate" value={pct(data.total ? data.overrideRate : null)} hint="agent wrote their own reply" />
            </div>
            {data.total === 0 ? (
              <Empty>
                No verdicts between {day(data.from)} and {day(data.to)}
                {version ? ` for ${version}` : ""}. Agents' feedback will show here as it arrives.
              </Empty>
            ) : (
              <div class="grid2">
                <div class="card">
                  <h2>Useful vs not useful</h2>
                  <ChartView
                    type="doughnut"
                    label={`Useful ${data.usefulCount}, not useful ${data.notUsefulCount}`}
                    data={{
                      labels: ["Useful", "Not useful"],
                      datasets: [{ data: [data.usefulCount, data.notUsefulCount], backgroundColor: ["#1a7f37", "#d1242f"] }],
                    }}
                  />
                </div>
                <div class="card">
                  <h2>Latest not-useful replies</h2>
                  {data.topNegativeMessages.length === 0 ? (
                    <Empty>None in this range.</Empty>
                  ) : (
                    <ul class="plain">
                      {data.topNegativeMessages.map((item) => (
                        <li>
                          <a href={`#/replay/${item.interactionId}`}>{clip(item.message, 110)}</a>
                          <div class="muted">
                            {item.assistantVersion} · {day(item.createdAt)}
                          </div>
                        </li>
                      ))}
                    </ul>
                  )}
                </div>
              </div>
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}
