// How numbers, money and dates read on the page. Money arrives as exact decimal strings from the
// API and is only displayed here, never added up.
const integer = new Intl.NumberFormat("en-US");
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
const SMALLEST = 0.000001;

export function count(value) {
  return integer.format(value ?? 0);
}

export function shortCount(value) {
  return compact.format(value ?? 0);
}

export function usd(decimal, { maximumFractionDigits = 6 } = {}) {
  const value = Number(decimal ?? 0);
  if (value > 0 && value < SMALLEST) return "< $0.000001";
  return value.toLocaleString("en-US", {
    style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits,
  });
}

export function price(decimal) {
  const value = Number(decimal ?? 0);
  return Number.isInteger(value) ? `$${count(value)}` : usd(decimal, { maximumFractionDigits: 2 });
}

export function day(isoDate) {
  const [year, month, date] = isoDate.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, date))
    .toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
}

export function month(period) {
  const [year, monthNumber] = period.split("-").map(Number);
  return new Date(Date.UTC(year, monthNumber - 1, 1))
    .toLocaleDateString("en-US", { month: "long", year: "numeric", timeZone: "UTC" });
}

export function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" });
}

// A moment to the second, for lists of events close together ("Dec 3, 18:48:12"); the year is in its title.
export function instant(iso) {
  return new Date(iso).toLocaleString("en-US", {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
}

export function tierName(name) {
  return name ? name.charAt(0).toUpperCase() + name.slice(1) : "";
}

export function tokensPerMonth(monthlyTokens) {
  return monthlyTokens === null ? "Unlimited tokens" : `${shortCount(monthlyTokens)} tokens/month`;
}

export function percent(part, whole) {
  if (!whole) return "0%";
  const share = (100 * part) / whole;
  return share > 0 && share < 1 ? "< 1%" : `${Math.round(share)}%`;
}
