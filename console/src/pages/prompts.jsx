// Prompts (admin): each prompt's versions and a word-level diff between two, with the notes that
// say why it changed.
import { useEffect, useState } from "preact/hooks";
import { Empty, Loaded, useApi, when } from "../components.jsx";

function WordDiff({ words }) {
  return (
    <p class="diff text" data-testid="word-diff">
      {words.map((part) => {
        if (part.op === "equal") return <span>{part.after}</span>;
        return (
          <>
            {part.before && <del title="removed">{part.before}</del>}
            {part.after && <ins title="added">{part.after}</ins>}
          </>
        );
      })}
    </p>
  );
}

function PromptDiff({ name, versions }) {
  const numbers = versions.map((v) => v.version);
  const [from, setFrom] = useState(numbers.length > 1 ? numbers[numbers.length - 2] : numbers[0]);
  const [to, setTo] = useState(numbers[numbers.length - 1]);
  const result = useApi((api) => api.get(`/prompts/${encodeURIComponent(name)}/diff`, { from, to }), [name, from, to]);
  const picker = (id, label, value, set) => (
    <label for={id}>
      {label}
      <select id={id} value={value} onChange={(e) => set(Number(e.currentTarget.value))}>
        {numbers.map((n) => (
          <option value={n}>v{n}</option>
        ))}
      </select>
    </label>
  );
  return (
    <div class="card">
      <h2>Diff</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        {picker("diff-from", "Old", from, setFrom)}
        {picker("diff-to", "New", to, setTo)}
      </form>
      <Loaded result={result} what="Comparing prompts">
        {(diff) => (
          <>
            <p class="legend">
              <del>removed</del> <ins>added</ins>
            </p>
            <WordDiff words={diff.words} />
            <div class="grid2 compact">
              <div>
                <h3>v{diff.from.version} notes</h3>
                <p>{diff.from.improvementNotes || "–"}</p>
              </div>
              <div>
                <h3>v{diff.to.version} notes</h3>
                <p data-testid="to-notes">{diff.to.improvementNotes || "–"}</p>
              </div>
            </div>
            <details>
              <summary>Unified diff (with exemplars)</summary>
              <pre>{diff.unifiedDiff}</pre>
            </details>
          </>
        )}
      </Loaded>
    </div>
  );
}

export function Prompts() {
  const versions = useApi((api) => api.get("/versions"), []);
  const names = [...new Set((versions.data?.items || []).map((v) => v.promptName))];
  const [name, setName] = useState("");
  useEffect(() => {
    if (!name && names.length) setName(names[0]);
  }, [names.join()]);
  const prompt = useApi((api) => (name ? api.get(`/prompts/${encodeURIComponent(name)}/versions`) : Promise.resolve(null)), [name]);
  return (
    <section>
      <h1>Prompts</h1>
      <Loaded result={versions} what="Loading prompts">
        {() =>
          names.length === 0 ? (
            <Empty>No prompts yet: they come with the first assistant version.</Empty>
          ) : (
            <>
              <form class="filters" onSubmit={(e) => e.preventDefault()}>
                <label for="prompt-name">
                  Prompt
                  <select id="prompt-name" value={name} onChange={(e) => setName(e.currentTarget.value)}>
                    {names.map((n) => (
                      <option value={n}>{n}</option>
                    ))}
                  </select>
                </label>
              </form>
              <Loaded result={prompt} what="Loading versions">
                {(data) =>
                  data && (
                    <>
                      <div class="table-wrap">
                        <table data-testid="prompt-versions">
                          <thead>
                            <tr>
                              <th scope="col">Version</th>
                              <th scope="col">Updated</th>
                              <th scope="col">Exemplars</th>
                              <th scope="col">Notes</th>
                            </tr>
                          </thead>
                          <tbody>
                            {data.items.map((v) => (
                              <tr>
                                <th scope="row">v{v.version}</th>
                                <td class="nowrap">{when(v.updatedAt)}</td>
                                <td class="n">{v.exemplars.length}</td>
                                <td>{v.improvementNotes}</td>
                              </tr>
                            ))}
                          </tbody>
                        </table>
                      </div>
                      {data.items.length > 1 ? (
                        <PromptDiff key={name} name={name} versions={data.items} />
                      ) : (
                        <Empty>Only one version so far; a diff needs two.</Empty>
                      )}
                    </>
                  )
                }
              </Loaded>
            </>
          )
        }
      </Loaded>
    </section>
  );
}
