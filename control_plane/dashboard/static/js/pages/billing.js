// Billing: the current tier, the published tiers (upgrade through Stripe Checkout, downgrade at
// once), and the monthly invoices with their lines, usage and amount due.
import { dashboardConfig, get, post } from "../api.js";
import { confirmAction } from "../dialog.js";
import { fill, h } from "../dom.js";
import * as fmt from "../format.js";
import { alertRegion, showError } from "../forms.js";
import { loadFailed, loading, notice, pageHeader, table } from "../widgets.js";

const PENDING = "clew.pendingTier";  // the tier being paid for at Stripe, until its webhook lands
const CONFIRM_TRIES = 20;

function readCheckoutReturn() {
  const url = new URL(location.href);
  const outcome = url.searchParams.get("checkout");
  if (url.search) history.replaceState(null, "", "/app/billing");
  return outcome;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Stripe sends its webhook around the time it redirects back: wait for the new tier a little.
async function awaitPaidTier(status) {
  const wanted = sessionStorage.getItem(PENDING);
  sessionStorage.removeItem(PENDING);
  if (!wanted) return notice("Payment received. Your plan changes as soon as Stripe confirms it.", "success");
  fill(status, notice("Confirming your payment…"));
  for (let attempt = 0; attempt < CONFIRM_TRIES; attempt += 1) {
    if ((await get("/v1/auth/me")).tier === wanted) {
      return notice(`Payment received: you are now on ${fmt.tierName(wanted)}.`, "success");
    }
    await sleep(1000);
  }
  return notice("Payment received. Your plan changes as soon as Stripe confirms it; reload this page in a minute.");
}

function tierCard(tier, current, onChoose) {
  const isCurrent = tier.name === current.name;
  const cheaper = Number(tier.price_usd_month) < Number(current.price_usd_month);
  const label = isCurrent ? "Current plan" : `${cheaper ? "Downgrade" : "Upgrade"} to ${fmt.tierName(tier.name)}`;
  const button = h("button", { type: "button", class: isCurrent ? "secondary" : cheaper ? "secondary" : "primary",
                               disabled: isCurrent, "data-tier": tier.name }, label);
  button.addEventListener("click", () => onChoose(tier, button));
  return h("li", { class: `tier card${isCurrent ? " current" : ""}`, "aria-current": isCurrent ? "true" : null },
    h("h3", {}, fmt.tierName(tier.name)),
    h("p", { class: "price" }, fmt.price(tier.price_usd_month), h("span", {}, " /month")),
    h("ul", { class: "limits" },
      h("li", {}, `${fmt.count(tier.requests_per_minute)} requests/min`),
      h("li", {}, fmt.tokensPerMonth(tier.monthly_tokens)),
      h("li", {}, tier.usage_billing === "metered" ? "Usage billed monthly" : "Usage included")),
    button);
}

// Usage is shown at its value either way; only a metered plan's usage adds to the amount due,
// which is what Stripe charges.
function invoiceCard(invoice) {
  const metered = invoice.usage_billing === "metered";
  const lines = table({
    rows: invoice.lines, className: "lines", emptyMessage: "No usage this month.", columns: [
      { label: "Model", cell: (l) => l.model },
      { label: "Requests", cell: (l) => fmt.count(l.requests), numeric: true },
      { label: "Tokens", cell: (l) => fmt.count(l.total_tokens), numeric: true },
      { label: "Cost", cell: (l) => fmt.usd(l.cost_usd), numeric: true },
    ],
  });
  return h("article", { class: "invoice card", "data-period": invoice.period },
    h("h3", {}, fmt.month(invoice.period), " ",
      h("span", { class: `badge ${invoice.status}` }, invoice.status === "draft" ? "Draft (this month)" : "Final")),
    h("dl", { class: "amounts" },
      h("div", {}, h("dt", {}, "Plan"), h("dd", {}, fmt.tierName(invoice.tier))),
      h("div", { class: "subscription" }, h("dt", {}, "Subscription"), h("dd", {}, fmt.usd(invoice.subscription_usd))),
      h("div", { class: "usage" }, h("dt", {}, metered ? "Usage (billed)" : "Usage (included in plan)"),
        h("dd", {}, fmt.usd(invoice.usage_usd))),
      h("div", { class: "amount-due" }, h("dt", {}, invoice.status === "draft" ? "Amount due so far" : "Amount due"),
        h("dd", {}, fmt.usd(invoice.amount_due_usd)))),
    lines);
}

async function choose(tier, button, current, status, redraw) {
  const free = Number(tier.price_usd_month) === 0;
  if (free && !(await confirmAction({
    title: `Downgrade to ${fmt.tierName(tier.name)}?`, confirmLabel: `Downgrade to ${fmt.tierName(tier.name)}`,
    message: `Your ${fmt.tierName(current.name)} subscription is cancelled now, and the ${fmt.tierName(tier.name)} `
      + "limits apply from your next request.",
  }))) return;
  button.disabled = true;
  button.textContent = free ? "Changing plan…" : "Opening checkout…";
  try {
    const answer = await post("/v1/billing/checkout", { tier: tier.name });
    if (answer.action === "checkout") {
      sessionStorage.setItem(PENDING, tier.name);
      location.assign(answer.url);
      return;
    }
    await redraw();  // the plans first, then the message: what the message says is on the page
    fill(status, notice(`You are now on ${fmt.tierName(answer.tier)}.`, "success"));
  } catch (error) {
    const region = alertRegion();
    showError(region, error);
    fill(status, region);
    await redraw();
  }
}

export const page = {
  title: "Billing",
  access: "account",
  async render(view) {
    const returned = readCheckoutReturn();
    const status = h("div", { class: "billing-status" });
    const plans = h("section", { "aria-labelledby": "plans-title" }, loading("Loading plans"));
    const invoices = h("section", { "aria-labelledby": "invoices-title" });
    view.append(pageHeader("Billing"), status, plans, invoices);
    if (returned === "cancelled") fill(status, notice("Checkout was cancelled; your plan is unchanged."));
    if (returned === "success") fill(status, await awaitPaidTier(status).catch(loadFailed));
    const redraw = async () => {
      try {
        const [me, config, list] = await Promise.all([get("/v1/auth/me"), dashboardConfig(),
          get("/v1/billing/invoices")]);
        const current = config.tiers.find((t) => t.name === me.tier)
          ?? { name: me.tier, price_usd_month: "0", requests_per_minute: 0, monthly_tokens: null };
        fill(plans, h("h2", { id: "plans-title" }, "Plans"),
          h("p", { class: "current-plan" }, "You are on the ", h("strong", { id: "current-tier" }, fmt.tierName(me.tier)),
            ` plan (${fmt.price(current.price_usd_month)}/month).`),
          h("ul", { class: "tiers" }, config.tiers.map((tier) =>
            tierCard(tier, current, (chosen, button) => choose(chosen, button, current, status, redraw)))));
        fill(invoices, h("h2", { id: "invoices-title" }, "Invoices"), list.data.map(invoiceCard));
      } catch (error) {
        fill(plans, loadFailed(error));
        fill(invoices);
      }
    };
    await redraw();
  },
};
