import { h } from "../dom.js";
import { pageHeader } from "../widgets.js";

export const page = {
  title: "Page not found",
  access: "public",
  async render(view) {
    view.append(pageHeader("Page not found", "There is no dashboard page at this address."),
      h("p", {}, h("a", { href: "/app/" }, "Go to the overview")));
  },
};
