// A message for the next page to show once ("Your session ended; log in again").
let pending = null;

export function flash(message, kind = "info") {
  pending = { message, kind };
}

export function takeFlash() {
  const message = pending;
  pending = null;
  return message;
}
