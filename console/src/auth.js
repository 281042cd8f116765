// Sign-in. Locally (config.auth.mode "dev") the local stack hands out dev tokens for a role; in AWS
// ("cognito") the Cognito hosted UI signs the user in with the authorization-code flow and PKCE.
// Either way the console ends up with an ID token whose `cognito:groups` carry the roles; the API
// checks the token itself, so what the console hides is a courtesy, not the protection.

const SESSION_KEY = "replyloop.session";
const PKCE_KEY = "replyloop.pkce";

export async function loadConfig() {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json could not be loaded (HTTP ${response.status}).`);
  const config = await response.json();
  if (!config?.auth?.mode) throw new Error("config.json has no auth.mode.");
  return config;
}

function base64UrlDecode(part) {
  const padded = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The session a token describes (the console reads its claims; it cannot and need not verify them). */
export function sessionFromToken(token) {
  const claims = JSON.parse(base64UrlDecode(token.split(".")[1] || ""));
  const groups = claims["cognito:groups"] || [];
  const roles = new Set(Array.isArray(groups) ? groups : String(groups).split(/[\s,]+/));
  // Nested, as the API nests them: an admin is also a reviewer, a reviewer is also an agent.
  if (roles.has("admin")) roles.add("reviewer");
  if (roles.has("reviewer")) roles.add("agent");
  return {
    token,
    username: claims["cognito:username"] || claims.email || claims.sub || "signed in",
    roles: [...roles].filter(Boolean),
    expiresAt: (claims.exp || 0) * 1000,
  };
}

/** Roles from least to most: a page names the least role it needs. */
export const ROLES = ["agent", "reviewer", "admin"];

/** Whether the session holds `role` or one above it. */
export const hasRole = (session, role) => ROLES.slice(ROLES.indexOf(role)).some((held) => session.roles.includes(held));

/** The session's highest role, for "signed in as …". */
export const topRole = (session) => [...ROLES].reverse().find((role) => hasRole(session, role)) || "no role";

export function currentSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    return session && session.expiresAt > Date.now() ? session : null;
  } catch {
    return null;
  }
}

function keep(session) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

export function signOut(config) {
  sessionStorage.removeItem(SESSION_KEY);
  if (config?.auth?.mode === "cognito") {
    const { domain, clientId } = config.auth;
    const back = redirectUri(config);
    window.location.assign(`https://${domain}/logout?client_id=${encodeURIComponent(clientId)}&logout_uri=${encodeURIComponent(back)}`);
  }
}

export async function signInWithDevToken(config, role) {
  const response = await fetch(config.auth.tokenUrl, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ role }),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.message || `The local stack refused a dev token (HTTP ${response.status}).`);
  return keep(sessionFromToken(data.token));
}

function redirectUri(config) {
  return config.auth.redirectUri || `${window.location.origin}${window.location.pathname}`;
}

function randomString(bytes = 32) {
  const values = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...values)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return btoa(String.fromCharCode(...new Uint8Array(digest))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function startHostedSignIn(config) {
  const verifier = randomString(48);
  const state = randomString(16);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const params = new URLSearchParams({
    response_type: "code",
    client_id: config.auth.clientId,
    redirect_uri: redirectUri(config),
    scope: "openid email profile",
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  });
  window.location.assign(`https://${config.auth.domain}/oauth2/authorize?${params}`);
}

/** Back from the hosted UI with ?code=…: trade it for tokens. Returns the session, or null when not a callback. */
export async function finishHostedSignIn(config) {
  const params = new URLSearchParams(window.location.search);
  const code = params.get("code");
  if (config.auth.mode !== "cognito" || !code) return null;
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  window.history.replaceState(null, "", `${window.location.pathname}${window.location.hash}`);
  if (!saved || saved.state !== params.get("state")) throw new Error("The sign-in response did not match this browser's request. Sign in again.");
  const response = await fetch(`https://${config.auth.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: config.auth.clientId,
      code,
      redirect_uri: redirectUri(config),
      code_verifier: saved.verifier,
    }),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok || !data.id_token) throw new Error(data.error_description || data.error || "Cognito did not sign you in.");
  return keep(sessionFromToken(data.id_token));
}
