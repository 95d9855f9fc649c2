// The browser form filler: ODK Web Forms mounted on the page Sangjog serves at /f/<form> and
// /l/<token>. The page says where the form, its media and the submission endpoint are
// (data- attributes of #sangjog-form), so this file holds no URL and runs no inline script.
import { createApp, h, ref } from "vue";
import { OdkWebForm, POST_SUBMIT__NEW_INSTANCE, webFormsPlugin } from "@getodk/web-forms";

const host = document.getElementById("sangjog-form");
const say = document.getElementById("sangjog-form-status");
const cfg = host.dataset;

function tell(text, kind) {
  say.textContent = text;
  say.className = `form-status ${kind}`;
  say.hidden = !text;
  if (text) say.scrollIntoView({ block: "nearest" });
}

// Collect names media as jr://file/<name>; the server serves them under the page's media URL,
// filtered to what this page's user (or link) may see.
function fetchFormAttachment(url) {
  const name = decodeURIComponent(String(url.href ?? url).split("/").pop());
  return fetch(`${cfg.mediaUrl}/${encodeURIComponent(name)}`, { credentials: "same-origin" });
}

// Refusals come as the server's JSON problem ({code, message, status}).
function problemMessage(text) {
  try {
    return JSON.parse(text).message || "";
  } catch (err) {
    return "";
  }
}

// "Once per device" is the browser's promise, not the server's: storage can be cleared.
const onceKey = cfg.oncePerDevice ? `sangjog-sent-${cfg.oncePerDevice}` : null;
function alreadySent() {
  try {
    return onceKey !== null && window.localStorage.getItem(onceKey) !== null;
  } catch (err) {
    return false;
  }
}
function rememberSent() {
  try {
    if (onceKey !== null) window.localStorage.setItem(onceKey, new Date().toISOString());
  } catch (err) {
    /* private browsing: nothing to remember with */
  }
}

async function onSubmit(payload, done) {
  if (payload.status !== "ready") {
    tell(cfg.failedText, "error");
    done({});
    return;
  }
  tell(cfg.sendingText, "info");
  const headers = { Accept: "application/json" };
  if (cfg.csrf) headers["X-CSRFToken"] = cfg.csrf;
  let answer;
  try {
    answer = await fetch(cfg.submitUrl, {
      method: "POST", body: payload.data[0], headers, credentials: "same-origin",
    });
  } catch (err) {
    tell(cfg.offlineText, "error");
    done({});
    return;
  }
  const text = await answer.text();
  if (answer.ok) {
    rememberSent();
    tell(cfg.sentText, "ok");
    done({ next: POST_SUBMIT__NEW_INSTANCE });
    if (alreadySent()) closeForm();
  } else {
    tell(`${cfg.failedText} ${problemMessage(text)}`.trim(), "error");
    done({});
  }
}

function closeForm() {
  host.hidden = true;
  tell(cfg.doneText, "ok");
}

async function start() {
  if (alreadySent()) {
    closeForm();
    return;
  }
  const answer = await fetch(cfg.formUrl, { credentials: "same-origin" });
  if (!answer.ok) {
    tell(cfg.failedText, "error");
    return;
  }
  const formXml = await answer.text();
  const app = createApp({
    setup() {
      return () => h(OdkWebForm, {
        formXml,
        fetchFormAttachment,
        missingResourceBehavior: "BLANK",
        trackDevice: true,
        onSubmit,
      });
    },
  });
  app.use(webFormsPlugin);
  app.mount(host);
  host.dataset.ready = "true";
}

start();
