// Caseframe's page script: start GOV.UK Frontend, send the CSRF token with htmx requests,
// and show or hide conditional questions. Pages work without it.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

initAll();

const token = document.body.dataset.csrfToken;
document.body.addEventListener("htmx:configRequest", (event) => {
  if (token) event.detail.headers["X-CSRF-Token"] = token;
});

// A fresh GOV.UK component arrives in an htmx swap: start it too.
document.body.addEventListener("htmx:afterSwap", (event) => {
  initAll({ scope: event.detail.target });
});

function syncShowWhen(root) {
  root.querySelectorAll("[data-show-when-field]").forEach((group) => {
    const name = group.dataset.showWhenField;
    const allowed = JSON.parse(group.dataset.showWhenIn || "[]").map(String);
    const inputs = document.querySelectorAll(`[name="${CSS.escape(name)}"]`);
    let values = [];
    inputs.forEach((input) => {
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) return;
      values.push(input.value === "yes" ? "true" : input.value === "no" ? "false" : input.value);
    });
    group.hidden = !values.some((v) => allowed.includes(v));
  });
}
document.addEventListener("change", () => syncShowWhen(document));
syncShowWhen(document);
