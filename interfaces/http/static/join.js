// The join page: a site's open services; join one with an optional name and phone, then go
// to the ticket's own page (/t/{token}).

import { h, setUpLanguage } from "./dom.js";
import { language, setLanguage, t } from "./i18n.js";
import { call, problemKey } from "./public.js";

const $ = (id) => document.getElementById(id);
const [, , slug = "", siteId = ""] = location.pathname.split("/").map(decodeURIComponent);
const state = { site: null, errorKey: null, joining: false, chosen: null };

function render() {
  document.title = `${t("join.title")} · SmartQueue`;
  $("error").textContent = state.errorKey ? t(state.errorKey) : "";
  $("language").value = language();
  const site = state.site;
  $("join").hidden = !site;
  if (!site) return;
  $("site-name").textContent = site.name;
  $("site-state").textContent = site.open ? t("join.open") : t("join.closed");
  const list = $("services");
  list.replaceChildren(
    ...site.services.map((service, index) => {
      const id = `service-${index}`;
      const input = h("input", {
        type: "radio",
        id,
        name: "service",
        value: service.id,
        required: true,
        checked: state.chosen ? state.chosen === service.id : index === 0,
        onchange: () => (state.chosen = service.id),
      });
      return h("li", { class: "choice-radio" }, input, h("label", { for: id }, service.name));
    }),
  );
  $("empty").hidden = site.services.length > 0;
  const submit = $("submit");
  submit.disabled = state.joining || !site.open || site.services.length === 0;
  submit.textContent = state.joining ? t("join.joining") : t("join.submit");
  submit.setAttribute("aria-busy", state.joining ? "true" : "false");
}

async function load() {
  const answer = await call("GET", `${encodeURIComponent(slug)}/sites/${encodeURIComponent(siteId)}/`);
  if (answer.status === 200) {
    state.site = answer.body;
    state.errorKey = null;
  } else {
    state.errorKey = answer.status === 404 ? "error.siteNotFound" : problemKey(answer);
  }
  render();
}

async function join(event) {
  event.preventDefault();
  if (state.joining) return;
  const chosen = document.querySelector('input[name="service"]:checked');
  if (!chosen) return;
  const body = { service_id: chosen.value, language: $("language").value };
  const name = $("name").value.trim();
  const phone = $("phone").value.trim();
  if (name) body.name = name;
  if (phone) body.phone = phone;
  state.joining = true;
  state.errorKey = null;
  render();
  const answer = await call("POST", `${encodeURIComponent(slug)}/sites/${encodeURIComponent(siteId)}/join/`, body);
  state.joining = false;
  if (answer.status === 201) {
    location.assign(`${answer.body.url}?lang=${encodeURIComponent(body.language)}`);
    return;
  }
  state.errorKey = problemKey(answer);
  render();
  $("error").focus?.();
}

$("join").addEventListener("submit", join);
$("language").addEventListener("change", () => setLanguage($("language").value));
setUpLanguage(render);
load();
