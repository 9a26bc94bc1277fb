// The feedback page: a customer's opinion of a completed visit, reached by the link of the
// feedback request message (GET/POST /api/v1/public/feedback/{token}/). Once per visit.

import { h, setUpLanguage } from "./dom.js";
import { t } from "./i18n.js";
import { call, problemKey } from "./public.js";

const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(location.pathname.split("/")[2] || "");
const path = `feedback/${encodeURIComponent(token)}/`;
const state = { request: null, errorKey: null, given: false, busy: false, built: false };

function radios(name, values) {
  return values.map((value) =>
    h("label", { class: "score" }, h("input", { type: "radio", name, value: String(value) }), ` ${value}`),
  );
}

function build(request) {
  $("csat").replaceChildren(...radios("csat", [1, 2, 3, 4, 5]));
  $("nps").replaceChildren(...radios("nps", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
  $("tags").replaceChildren(
    ...request.tags.map((tag) =>
      h("label", { class: "score" }, h("input", { type: "checkbox", name: "tags", value: tag }), " ",
        h("span", { "data-tag": tag })),
    ),
  );
  state.built = true;
}

function render() {
  document.title = `${t("feedback.title")} · SmartQueue`;
  $("error").textContent = state.errorKey ? t(state.errorKey) : "";
  const request = state.request;
  $("visit").textContent = request
    ? t("feedback.visit", { number: request.ticket_number, service: request.service_name, site: request.site_name })
    : "";
  $("done").textContent = state.given ? t("feedback.thanks") : "";
  $("form").hidden = !request || state.given || request.completed_at === null;
  for (const span of document.querySelectorAll("[data-tag]")) span.textContent = t(`feedback.tag.${span.dataset.tag}`);
  $("submit").disabled = state.busy;
}

function picked(name) {
  const input = document.querySelector(`input[name="${name}"]:checked`);
  return input ? Number(input.value) : null;
}

async function submit(event) {
  event.preventDefault();
  const body = {
    csat: picked("csat"),
    nps: picked("nps"),
    tags: Array.from(document.querySelectorAll('input[name="tags"]:checked'), (input) => input.value),
  };
  const comment = $("comment").value.trim();
  if (comment) body.comment = comment;
  if (body.csat === null && body.nps === null) {
    state.errorKey = "feedback.pickOne";
    return render();
  }
  state.busy = true;
  state.errorKey = null;
  render();
  const answer = await call("POST", path, body);
  state.busy = false;
  if (answer.status === 201 || answer.body?.code === "feedback_given") state.given = true;
  else state.errorKey = answer.body?.code === "visit_not_completed" ? "feedback.notYet" : problemKey(answer);
  render();
}

async function load() {
  const answer = await call("GET", path);
  if (answer.status !== 200) {
    state.errorKey = answer.status === 404 ? "feedback.invalid" : problemKey(answer);
    return render();
  }
  state.request = answer.body;
  state.given = answer.body.given;
  if (answer.body.completed_at === null) state.errorKey = "feedback.notYet";
  if (!state.built) build(answer.body);
  render();
}

$("form").addEventListener("submit", submit);
setUpLanguage(render);
load();
