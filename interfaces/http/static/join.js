// The join page: a site's open services; join one with an optional name and phone, then go
// to the ticket's own page (/t/{token}). Where the site's tenant requires a one-time code
// (site.join_code === "sms"), the phone is required and the customer asks for a code by SMS
// and enters it before joining.

import { h, setUpLanguage } from "./dom.js";
import { language, moment, setLanguage, t } from "./i18n.js";
import { call, problemKey } from "./public.js";

const $ = (id) => document.getElementById(id);
const [, , slug = "", siteId = ""] = location.pathname.split("/").map(decodeURIComponent);
const state = {
  site: null,
  errorKey: null,
  opensAt: null,
  joining: false,
  chosen: null,
  sending: false,
  codeSent: null, // {minutes} once a code went out
};
const when = (opensAt) => ({ when: opensAt ? moment(opensAt) : "" });

const needsCode = () => state.site?.join_code === "sms";

function render() {
  document.title = `${t("join.title")} · SmartQueue`;
  $("error").textContent = state.errorKey ? t(state.errorKey, when(state.opensAt)) : "";
  $("language").value = language();
  const site = state.site;
  $("join").hidden = !site;
  if (!site) return;
  $("site-name").textContent = site.name;
  const closed = site.opens_at ? t("join.closedUntil", when(site.opens_at)) : t("join.closed");
  $("site-state").textContent = site.open ? t("join.open") : closed;
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
  const withCode = needsCode();
  $("code-step").hidden = !withCode;
  $("phone-label").textContent = withCode ? t("join.phoneForCode") : t("join.phone");
  $("phone").required = withCode;
  $("code").required = withCode;
  if (withCode) {
    $("code-help").textContent = t("join.codeHelp");
    const send = $("send-code");
    send.disabled = state.sending || !site.open;
    send.textContent = t(state.codeSent ? "join.sendAgain" : "join.sendCode");
    send.setAttribute("aria-busy", state.sending ? "true" : "false");
    $("code-status").textContent = state.codeSent
      ? t("join.codeSent", { minutes: state.codeSent.minutes })
      : "";
  }
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
  const code = $("code").value.trim();
  if (needsCode() && code) body.code = code;
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
  state.opensAt = answer.body?.opens_at ?? null;
  if (state.errorKey === "error.siteClosed" && state.opensAt) state.errorKey = "error.siteClosedUntil";
  render();
  $("error").focus?.();
}

async function sendCode() {
  if (state.sending) return;
  const phone = $("phone").value.trim();
  if (!phone) {
    state.errorKey = "error.phoneForCode";
    render();
    $("phone").focus();
    return;
  }
  state.sending = true;
  state.errorKey = null;
  render();
  const answer = await call(
    "POST",
    `${encodeURIComponent(slug)}/sites/${encodeURIComponent(siteId)}/join/code/`,
    { phone, language: $("language").value },
  );
  state.sending = false;
  if (answer.status === 202) {
    state.codeSent = { minutes: Math.max(1, Math.round(answer.body.expires_in_seconds / 60)) };
    render();
    $("code").focus();
    return;
  }
  state.errorKey = problemKey(answer);
  state.opensAt = answer.body?.opens_at ?? null;
  if (state.errorKey === "error.siteClosed" && state.opensAt) state.errorKey = "error.siteClosedUntil";
  render();
}

$("join").addEventListener("submit", join);
$("send-code").addEventListener("click", sendCode);
$("language").addEventListener("change", () => setLanguage($("language").value));
setUpLanguage(render);
load();
