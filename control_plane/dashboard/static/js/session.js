// The session token lives in memory and in this tab's sessionStorage: never in a URL, never in a
// cookie. Closing the tab forgets it; logging out forgets it at once.
const KEY = "clew.session";
let current = null;

function expired(session) {
  return !session || typeof session.token !== "string" || session.expires_at * 1000 <= Date.now();
}

export function restore() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY));
    current = expired(stored) ? null : stored;
  } catch {
    current = null;
  }
  if (!current) sessionStorage.removeItem(KEY);
}

export function token() {
  if (current && expired(current)) clear();
  return current ? current.token : null;
}

export function signedIn() {
  return token() !== null;
}

export function save(login) {
  current = { token: login.token, expires_at: login.expires_at };
  sessionStorage.setItem(KEY, JSON.stringify(current));
}

export function clear() {
  current = null;
  sessionStorage.removeItem(KEY);
}
