// Client-side routes under /app/: links and Back/Forward change the page without a reload.
// Access: "account" pages need a session, "guest" pages (log in, sign up) send a signed-in person
// to the overview, "public" pages (forgot, reset) are for everyone.
import * as session from "./session.js";

const routes = new Map();
let notFound = null;
let onRender = () => {};
let returnTo = null;
let renders = 0;

export function route(path, page) {
  routes.set(path, page);
}

export function fallback(page) {
  notFound = page;
}

export function afterRender(callback) {
  onRender = callback;
}

export function navigate(path, { replace = false } = {}) {
  history[replace ? "replaceState" : "pushState"](null, "", path);
  render();
}

// Where to go after logging in: the page that asked for it, once.
export function takeReturnTo() {
  const path = returnTo ?? "/app/";
  returnTo = null;
  return path;
}

function pageFor(pathname) {
  const path = pathname.length > 5 && pathname.endsWith("/") ? pathname.slice(0, -1) : pathname;
  return routes.get(path) ?? notFound;
}

export async function render() {
  const page = pageFor(location.pathname);
  if (page.access === "account" && !session.signedIn()) {
    returnTo = location.pathname + location.search;
    navigate("/app/login", { replace: true });
    return;
  }
  if (page.access === "guest" && session.signedIn()) {
    navigate("/app/", { replace: true });
    return;
  }
  renders += 1;
  const view = document.createElement("div");
  view.className = "view";
  document.title = `${page.title} · Clew`;
  // A page draws its heading before its first await: the frame can focus it right away.
  const drawn = page.render(view);
  onRender(page, view, renders === 1);
  await drawn;
}

function followLink(event) {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0 || link.target || link.hasAttribute("download")) return;
  if (link.getAttribute("href").startsWith("#")) return;  // in-page (the skip link)
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/app/")) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}

export function start() {
  document.addEventListener("click", followLink);
  addEventListener("popstate", render);
  render();
}
