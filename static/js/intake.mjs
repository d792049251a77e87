// Progressive enhancement of the report form (templates/tipster/report_form.html): with
// JavaScript the browser encrypts the report and files to the desk's keys and uploads only
// ciphertext. Without JavaScript, or when the tipster chooses it after a failure, the same
// form is posted as before and the server encrypts it on arrival. Never silently: if the
// browser cannot encrypt, the tipster is told and chooses.

import { ApiClient, ApiError, Cancelled } from './api_client.mjs';
import { readReport } from './report_fields.mjs';
import { createProtocol } from './tipline_protocol.mjs';
import { sendTip } from './upload.mjs';

const RATE_WINDOW_MS = 30000;
const MIN_RATE_SPAN_MS = 3000;

const fill = (template, values) =>
  template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));

function loadCrypto() {
  const { sodium } = globalThis;
  if (!sodium || !sodium.ready) return Promise.reject(new Error('libsodium.js did not load'));
  return sodium.ready.then(() => ({ sodium, protocol: createProtocol(sodium) }));
}

// Bytes done over time -> an estimate of the time left, only once there is enough to go on.
class Estimator {
  constructor(text) {
    this.text = text;
    this.samples = [];
  }

  describe(done, total) {
    const now = performance.now();
    this.samples.push([now, done]);
    while (this.samples.length > 2 && now - this.samples[0][0] > RATE_WINDOW_MS) this.samples.shift();
    const [start, startBytes] = this.samples[0];
    if (now - start < MIN_RATE_SPAN_MS || done <= startBytes) return this.text.estimating;
    const seconds = (total - done) / ((done - startBytes) / ((now - start) / 1000));
    if (seconds < 60) return this.text.lessThanMinute;
    if (seconds < 90 * 60) return fill(this.text.minutesLeft, { minutes: Math.round(seconds / 60) });
    return fill(this.text.hoursLeft, { hours: Math.round(seconds / 360) / 10 });
  }
}

function enhance(form, text) {
  const byId = (id) => document.getElementById(id);
  const ui = {
    compose: byId('intake-compose'),
    ready: byId('intake-ready'),
    errors: byId('intake-errors'),
    errorList: byId('intake-error-list'),
    progress: byId('intake-progress'),
    bar: byId('intake-bar'),
    status: byId('intake-status'),
    estimate: byId('intake-estimate'),
    cancel: byId('intake-cancel'),
    cancelled: byId('intake-cancelled'),
    failed: byId('intake-failed'),
    reason: byId('intake-failed-reason'),
    retry: byId('intake-retry'),
    plain: byId('intake-plain'),
    done: byId('intake-done'),
    code: byId('intake-code'),
    practiceCode: byId('intake-practice-code'),
  };
  const lang = document.documentElement.lang || 'en';
  const megabytes = (bytes) =>
    `${(bytes / 1e6).toLocaleString(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 })} MB`;
  const api = new ApiClient(form.dataset.drafts);
  const crypto = loadCrypto();
  crypto.then(
    () => {
      ui.ready.hidden = false;
      form.dataset.intake = 'ready';
    },
    () => {
      form.dataset.intake = 'unavailable';
    },
  );
  const warnBeforeLeaving = (event) => event.preventDefault();
  let controller = null;

  function showOnly(...panels) {
    for (const panel of [ui.errors, ui.progress, ui.cancelled, ui.failed]) {
      panel.hidden = !panels.includes(panel);
    }
  }

  function showErrors({ byField, general }) {
    ui.errorList.replaceChildren();
    for (const message of general) {
      const item = document.createElement('li');
      item.textContent = message;
      ui.errorList.append(item);
    }
    for (const [name, message] of byField) {
      const item = document.createElement('li');
      const link = document.createElement('a');
      link.href = `#field-${name}`;
      link.textContent = message;
      item.append(link);
      ui.errorList.append(item);
    }
    showOnly(ui.errors);
    ui.errors.focus();
  }

  function showFailure(reason) {
    ui.reason.textContent = reason;
    showOnly(ui.failed);
    ui.failed.focus();
  }

  function showDone(code) {
    ui.code.replaceChildren();
    for (const word of code.split(/\s+/u)) {
      const span = document.createElement('span');
      span.className = 'code-word';
      span.textContent = word;
      ui.code.append(span, ' ');
    }
    ui.practiceCode.value = code;
    form.reset(); // what was typed is no longer needed on this page
    ui.compose.hidden = true;
    ui.done.hidden = false;
    ui.done.querySelector('h1').focus();
  }

  function describe(error) {
    if (error instanceof ApiError && error.status === 0) return text.failedNetwork;
    if (error instanceof ApiError) return `${text.failedServer} ${error.message}`;
    return text.failedBrowser;
  }

  function progressReporter() {
    const estimator = new Estimator(text);
    const show = (template, done, total) => {
      ui.bar.max = Math.max(total, 1);
      ui.bar.value = done;
      ui.status.textContent = fill(template, { done: megabytes(done), total: megabytes(total) });
    };
    return {
      sending(done, total) {
        show(text.sending, done, total);
        ui.estimate.textContent = estimator.describe(done, total);
      },
      finishing() {
        ui.bar.removeAttribute('value'); // indeterminate: one short request left
        ui.status.textContent = text.finishing;
        ui.estimate.textContent = '';
      },
    };
  }

  async function run() {
    const files = [...form.querySelector('input[type=file]').files];
    const today = new Date().toISOString().slice(0, 10);
    const report = readReport(form, { fileCount: files.length, today, messages: text });
    if (report.errors) {
      showErrors(report.errors);
      return;
    }
    let tools;
    try {
      tools = await crypto;
    } catch {
      showFailure(text.failedNoCrypto);
      return;
    }
    controller = new AbortController();
    let draft = null;
    showOnly(ui.progress);
    ui.bar.value = 0;
    ui.status.textContent = text.preparing;
    ui.estimate.textContent = '';
    window.addEventListener('beforeunload', warnBeforeLeaving);
    try {
      const { code } = await sendTip({
        ...tools,
        api,
        desk: form.dataset.desk,
        lang: form.dataset.lang,
        fields: report.fields,
        files,
        progress: progressReporter(),
        signal: controller.signal,
        onDraft: (created) => {
          draft = created;
        },
      });
      showOnly();
      showDone(code);
    } catch (error) {
      if (draft) api.discardDraft(draft).catch(() => {}); // best effort; purged in a day anyway
      if (error instanceof Cancelled) showOnly(ui.cancelled);
      else showFailure(describe(error));
    } finally {
      controller = null;
      window.removeEventListener('beforeunload', warnBeforeLeaving);
    }
  }

  let running = null;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!running) running = run().finally(() => { running = null; });
  });
  ui.cancel.addEventListener('click', () => controller?.abort());
  ui.retry.addEventListener('click', () => form.requestSubmit());
  ui.plain.addEventListener('click', () => {
    // The tipster chose the no-JavaScript path: the server encrypts the form as it arrives.
    form.dataset.intake = 'plain';
    HTMLFormElement.prototype.submit.call(form);
  });
}

const reportForm = document.getElementById('report-form');
const texts = document.getElementById('intake-text');
if (reportForm && texts) enhance(reportForm, texts.dataset);
