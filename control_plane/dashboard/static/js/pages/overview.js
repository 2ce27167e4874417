// This month at a glance: the tier and its limits, requests, tokens, cost, and the quota used.
import { dashboardConfig, get } from "../api.js";
import { fill, h } from "../dom.js";
import * as fmt from "../format.js";
import { loadFailed, loading, pageHeader } from "../widgets.js";

function stat(label, value, detail = "") {
  return h("div", { class: "stat" },
    h("h2", { class: "stat-label" }, label),
    h("p", { class: "stat-value" }, value),
    detail ? h("p", { class: "stat-detail" }, detail) : null);
}

function quotaBar(quota, tierLabel) {
  const { monthly_tokens: limit, used_tokens: used, remaining_tokens: remaining } = quota;
  if (limit === null) {
    return h("section", { class: "card quota", "aria-labelledby": "quota-title" },
      h("h2", { id: "quota-title" }, "Monthly token quota"),
      h("p", {}, `Unlimited on ${tierLabel}: ${fmt.count(used)} tokens used this month.`));
  }
  return h("section", { class: "card quota", "aria-labelledby": "quota-title" },
    h("h2", { id: "quota-title" }, "Monthly token quota"),
    h("progress", { id: "quota-bar", max: limit, value: Math.min(used, limit), "aria-labelledby": "quota-title",
                    "aria-describedby": "quota-text" }),
    h("p", { id: "quota-text" },
      `${fmt.count(used)} of ${fmt.count(limit)} tokens used (${fmt.percent(used, limit)}) · `
      + `${fmt.count(remaining)} left this month`));
}

export const page = {
  title: "Overview",
  access: "account",
  async render(view) {
    const body = h("div", {}, loading("Loading your account"));
    view.append(pageHeader("Overview"), body);
    try {
      const [me, usage, config] = await Promise.all([get("/v1/auth/me"), get("/v1/usage"), dashboardConfig()]);
      const tier = config.tiers.find((t) => t.name === usage.tier);
      const tierLabel = fmt.tierName(usage.tier);
      const limits = tier ? `${fmt.count(tier.requests_per_minute)} requests/min · ${fmt.tokensPerMonth(tier.monthly_tokens)}` : "";
      fill(body,
        h("p", { class: "intro" }, `Signed in as ${me.email}. Usage for ${fmt.month(usage.period)} (UTC).`),
        h("div", { class: "stats" },
          h("div", { class: "stat tier" },
            h("h2", { class: "stat-label" }, "Plan"),
            h("p", { class: "stat-value", id: "tier" }, tierLabel),
            h("p", { class: "stat-detail", id: "tier-limits" }, limits),
            h("p", { class: "stat-detail" }, h("a", { href: "/app/billing" }, "Change plan"))),
          stat("Requests", fmt.count(usage.requests), "this month"),
          stat("Tokens", fmt.count(usage.total_tokens),
            `${fmt.count(usage.prompt_tokens)} prompt · ${fmt.count(usage.completion_tokens)} completion`),
          stat("Cost", fmt.usd(usage.cost_usd), "this month")),
        quotaBar(usage.quota, tierLabel));
    } catch (error) {
      fill(body, loadFailed(error));
    }
  },
};
