// The console's shell: configuration, sign-in, navigation and the hash router.
import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { createApi } from "./api.js";
import {
  currentSession,
  finishHostedSignIn,
  hasRole,
  loadConfig,
  ROLES,
  signInWithDevToken,
  signOut,
  startHostedSignIn,
  topRole,
} from "./auth.js";
import { AppContext, ErrorNote, Loading } from "./components.jsx";
import { Leaderboard } from "./pages/leaderboard.jsx";
import { Overview } from "./pages/overview.jsx";
import { Prompts } from "./pages/prompts.jsx";
import { Replay } from "./pages/replay.jsx";
import { RetrainRuns } from "./pages/retrain.jsx";
import { ReviewQueue } from "./pages/review.jsx";
import { StressTests } from "./pages/stress.jsx";
import { TrainingReview } from "./pages/training.jsx";
import { Trends } from "./pages/trends.jsx";
import { Versions } from "./pages/versions.jsx";

const PAGES = [
  { path: "overview", title: "Overview", role: "agent", component: Overview },
  { path: "trends", title: "Trends", role: "agent", component: Trends },
  { path: "replay", title: "Replay", role: "agent", component: Replay },
  { path: "leaderboard", title: "Leaderboard", role: "agent", component: Leaderboard },
  { path: "review", title: "Review queue", role: "agent", component: ReviewQueue },
  { path: "training", title: "Training review", role: "reviewer", component: TrainingReview },
  { path: "versions", title: "Versions", role: "admin", component: Versions },
  { path: "prompts", title: "Prompts", role: "admin", component: Prompts },
  { path: "retrain", title: "Retrain runs", role: "admin", component: RetrainRuns },
  { path: "stress", title: "Stress tests", role: "admin", component: StressTests },
];

function parseHash() {
  const [path = "", ...rest] = window.location.hash.replace(/^#\/?/, "").split("/");
  return { path: path || "overview", params: rest.map(decodeURIComponent) };
}

function useRoute() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const update = () => setRoute(parseHash());
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}

function SignIn({ config, onSignedIn }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const dev = config.auth.mode === "dev";
  const signIn = async (role) => {
    setBusy(true);
    setError(null);
    try {
      if (dev) onSignedIn(await signInWithDevToken(config, role));
      else await startHostedSignIn(config);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>replyloop</h1>
      <p>The AI support assistant that learns from the agents who correct it.</p>
      {dev ? (
        <>
          <p class="hint">
            Local stack: sign in with a dev token. Agents see replay, analytics and the review queue; reviewers also
            decide which corrections may train; admins also manage versions, prompts, retrain runs and stress tests.
          </p>
          <div class="row">
            {ROLES.map((role) => (
              <button disabled={busy} onClick={() => signIn(role)}>
                Sign in as {role}
              </button>
            ))}
          </div>
        </>
      ) : (
        <button disabled={busy} onClick={() => signIn()}>
          Sign in
        </button>
      )}
      {error && <p class="state error" role="alert">{String(error.message || error)}</p>}
    </main>
  );
}

function Shell({ config, session, onSignOut }) {
  const route = useRoute();
  const api = useMemo(
    () => createApi({ baseUrl: config.apiUrl, getToken: () => session.token, onUnauthorized: onSignOut }),
    [config, session],
  );
  const isAdmin = hasRole(session, "admin");
  const visible = PAGES.filter((p) => hasRole(session, p.role));
  const page = PAGES.find((p) => p.path === route.path);
  const allowed = page && hasRole(session, page.role);
  useEffect(() => {
    document.title = `${page ? page.title : "Not found"} · replyloop`;
  }, [page]);
  return (
    <AppContext.Provider value={{ api, session, config, isAdmin }}>
      <header class="top">
        <a class="brand" href="#/overview">
          replyloop
        </a>
        <nav aria-label="Pages">
          {visible.map((p) => (
            <a href={`#/${p.path}`} aria-current={p.path === route.path ? "page" : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
        <div class="who">
          <span data-testid="who">
            {session.username} · {topRole(session)}
          </span>
          <button class="link" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        {!page && <ErrorNote error={new Error(`There is no page called '${route.path}'.`)} />}
        {page && !allowed && (
          <p class="state error" role="alert">
            The {page.title} page needs the {page.role} role; you are signed in as {topRole(session) === "agent" ? "an agent" : `a ${topRole(session)}`}.
          </p>
        )}
        {allowed && <page.component params={route.params} />}
      </main>
    </AppContext.Provider>
  );
}

function App() {
  const [config, setConfig] = useState(null);
  const [session, setSession] = useState(currentSession);
  const [error, setError] = useState(null);
  useEffect(() => {
    loadConfig()
      .then(async (loaded) => {
        setConfig(loaded);
        const back = await finishHostedSignIn(loaded);
        if (back) setSession(back);
      })
      .catch(setError);
  }, []);
  if (error) return <ErrorNote error={error} />;
  if (!config) return <Loading what="Starting the console" />;
  if (!session) return <SignIn config={config} onSignedIn={setSession} />;
  const leave = () => {
    signOut(config);
    setSession(null);
  };
  return <Shell config={config} session={session} onSignOut={leave} />;
}

render(<App />, document.getElementById("app"));
