// Trends: daily usefulness over the last 30 days (one line per version when there are several), and
// the top failure categories with their daily counts.
import { COLORS, ChartView, Empty, Loaded, pct, useApi, useApp } from "../components.jsx";

const DAYS = 30;

async function loadTrends(api, isAdmin) {
  const overall = await api.get("/feedback/analytics", { days: DAYS, top: 1 });
  let perVersion = [];
  if (isAdmin) {
    const versions = (await api.get("/versions")).items;
    const figures = await Promise.all(
      versions.map((v) => api.get("/feedback/analytics", { days: DAYS, top: 1, version: v.versionTag })),
    );
    perVersion = versions
      .map((v, i) => ({ tag: v.versionTag, analytics: figures[i] }))
      .filter((entry) => entry.analytics.total > 0);
  }
  return { overall, perVersion };
}

const rate = (row) => (row.total ? Math.round((row.useful / row.total) * 1000) / 10 : null);

export function Trends() {
  const { isAdmin } = useApp();
  const result = useApi((api) => loadTrends(api, isAdmin), [isAdmin]);
  return (
    <section>
      <h1>Trends</h1>
      <p class="muted">The last {DAYS} days, by day (UTC).</p>
      <Loaded result={result} what="Loading the trends">
        {({ overall, perVersion }) => {
          if (overall.total === 0) return <Empty>No verdicts in the last {DAYS} days yet.</Empty>;
          const labels = overall.dailyBreakdown.map((row) => row.date);
          const lines =
            perVersion.length > 1
              ? perVersion.map((entry, i) => ({
                  label: entry.tag,
                  data: entry.analytics.dailyBreakdown.map(rate),
                  borderColor: COLORS[i % COLORS.length],
                  backgroundColor: COLORS[i % COLORS.length],
                  spanGaps: true,
                }))
              : [{ label: "All versions", data: overall.dailyBreakdown.map(rate), borderColor: COLORS[0], backgroundColor: COLORS[0], spanGaps: true }];
          const categories = overall.failureCategories.slice(0, 5);
          return (
            <>
              <div class="card">
                <h2>Daily usefulness</h2>
                <p class="muted" data-testid="trend-summary">
                  {pct(overall.usefulRate)} useful over {overall.total} verdicts
                  {perVersion.length > 1 ? `; one line per version (${perVersion.map((e) => e.tag).join(", ")})` : ""}.
                </p>
                <ChartView
                  type="line"
                  label="Share of useful verdicts per day"
                  data={{ labels, datasets: lines }}
                  options={{ scales: { y: { min: 0, max: 100, title: { display: true, text: "% useful" } } } }}
                />
              </div>
              <div class="card">
                <h2>Top failure categories</h2>
                {categories.length === 0 ? (
                  <Empty>No failures have been explained yet.</Empty>
                ) : (
                  <>
                    <div class="table-wrap">
                      <table data-testid="categories">
                        <thead>
                          <tr>
                            <th scope="col">Category</th>
                            <th scope="col">Failures</th>
                          </tr>
                        </thead>
                        <tbody>
                          {categories.map((c) => (
                            <tr>
                              <td>{c.category}</td>
                              <td class="n">{c.count}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </div>
                    <ChartView
                      type="line"
                      label="Failures per category per day"
                      data={{
                        labels,
                        datasets: categories.map((c, i) => ({
                          label: c.category,
                          data: c.trend.map((point) => point.count),
                          borderColor: COLORS[(i + 1) % COLORS.length],
                          backgroundColor: COLORS[(i + 1) % COLORS.length],
                        })),
                      }}
                      options={{ scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }}
                    />
                  </>
                )}
              </div>
            </>
          );
        }}
      </Loaded>
    </section>
  );
}
