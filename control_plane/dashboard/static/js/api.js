// Every call the dashboard makes goes to the gateway's public REST API, on this same origin.
import * as session from "./session.js";

export class ApiError extends Error {
  constructor(status, message, code = null, param = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.param = param;
  }
}

let onSessionEnded = () => {};

export function whenSessionEnds(callback) {
  onSessionEnded = callback;
}

async function bodyOf(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function errorFrom(response, body) {
  const error = body && typeof body.error === "object" && body.error ? body.error : {};
  let message = typeof error.message === "string" && error.message
    ? error.message
    : `The gateway answered ${response.status} ${response.statusText}`.trim();
  const retry = response.headers.get("Retry-After");
  if (response.status === 429 && retry) message += ` (try again in ${retry} s)`;
  return new ApiError(response.status, message, error.code ?? null, error.param ?? null);
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "Could not reach the gateway. Check your connection and try again.", "network_error");
  }
  const data = await bodyOf(response);
  if (response.ok) return data;
  if (response.status === 401 && token) {
    session.clear();
    onSessionEnded();
  }
  throw errorFrom(response, data);
}

export const get = (path) => api("GET", path);
export const post = (path, body = {}) => api("POST", path, body);
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);

// The dashboard's own static description of the published tiers and webhook event types.
let config = null;
export async function dashboardConfig() {
  config ??= get("/app/config.json").catch((error) => {
    config = null;
    throw error;
  });
  return config;
}
