// The console's only way to the product: the public HTTP API, with the signed-in user's bearer token.

export class ApiError extends Error {
  constructor(status, message, details = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.details = details;
  }
}

/** Words a person understands for what went wrong, from the status and the API's own message. */
export function describeError(error) {
  if (!(error instanceof ApiError)) return String(error?.message || error);
  const said = error.message ? ` (${error.message})` : "";
  switch (true) {
    case error.status === 0:
      return error.message;
    case error.status === 401:
      return "Your sign-in has expired or was not accepted. Sign in again.";
    case error.status === 403:
      return `You don't have access to this${said}. Ask an admin if you need it.`;
    case error.status === 404:
      return error.message || "Not found.";
    case error.status === 409:
    case error.status === 400:
    case error.status === 422:
      return `The request was not accepted: ${error.message}`;
    case error.status === 429 || error.status === 503:
      return "The service is busy right now. Try again in a moment.";
    default:
      return `The API failed (HTTP ${error.status}). Try again; if it keeps failing, check the API's logs.`;
  }
}

function queryString(query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

export function createApi({ baseUrl, getToken, onUnauthorized }) {
  const base = (baseUrl || "").replace(/\/$/, "");

  async function request(method, path, { query, body } = {}) {
    const headers = { Accept: "application/json" };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(`${base}/api${path}${queryString(query)}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, `Could not reach the API at ${base || window.location.origin}. Is the stack running?`);
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = { message: text.slice(0, 200) };
    }
    if (!response.ok) {
      if (response.status === 401) onUnauthorized?.();
      throw new ApiError(response.status, data?.message || response.statusText, data?.errors || []);
    }
    return data;
  }

  return {
    get: (path, query) => request("GET", path, { query }),
    post: (path, body = {}) => request("POST", path, { body }),
  };
}
