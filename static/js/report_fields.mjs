// The report form's fields, read and checked in the browser exactly as the server checks the
// no-JavaScript form (app/services/report_form.py: validate_report), because with JavaScript
// the server only ever sees ciphertext and cannot check anything itself.

export const MAX_FIELD_CHARS = 20000;
export const MAX_URLS = 50;
export const MAX_FILES = 50;

const URL_SCHEMES = ['http', 'https'];
const SCHEME_CHARS = /^[A-Za-z][A-Za-z0-9+.-]*$/;
// Python's \w is Unicode-aware: letters, digits (and marks) and the underscore.
const BARE_HOST = /^[\p{L}\p{N}\p{M}_.-]+\.[a-z]{2,}(?:[/?#]\S*)?$/iu;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const codePoints = (text) => [...text].length;

// urllib.parse.urlsplit's scheme and netloc, as far as the check needs them.
function splitUrl(text) {
  const colon = text.indexOf(':');
  let scheme = '';
  let rest = text;
  if (colon > 0 && SCHEME_CHARS.test(text.slice(0, colon))) {
    scheme = text.slice(0, colon).toLowerCase();
    rest = text.slice(colon + 1);
  }
  let netloc = '';
  if (rest.startsWith('//')) {
    const end = rest.slice(2).search(/[/?#]/);
    netloc = end === -1 ? rest.slice(2) : rest.slice(2, 2 + end);
  }
  return { scheme, netloc };
}

export function isValidUrl(text) {
  const { scheme, netloc } = splitUrl(text);
  if (URL_SCHEMES.includes(scheme) && netloc) return true;
  return !scheme && BARE_HOST.test(text);
}

function isValidIsoDate(text) {
  const match = ISO_DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = match.slice(1).map(Number);
  const parsed = new Date(Date.UTC(year, month - 1, day));
  return year >= 1 && parsed.getUTCMonth() === month - 1 && parsed.getUTCDate() === day;
}

const fill = (template, values) =>
  template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));

// Reads every control that carries data-kind. Returns { fields } ready to encrypt, or
// { errors: { byField: Map(name -> message), general: [message] } }.
// `messages` holds the page's translated texts; `today` is the UTC date as YYYY-MM-DD.
export function readReport(form, { fileCount, today, messages }) {
  const byField = new Map();
  const fields = {};
  for (const control of form.querySelectorAll('[data-kind]')) {
    const { name } = control;
    const kind = control.dataset.kind;
    const value = control.value.replace(/\r\n/g, '\n').trim();
    if (!value) continue;
    if (codePoints(value) > MAX_FIELD_CHARS) {
      byField.set(name, fill(messages.tooLong, { max: MAX_FIELD_CHARS }));
    } else if (kind === 'select') {
      const choices = [...control.options].map((option) => option.value).filter(Boolean);
      if (!choices.includes(value)) byField.set(name, messages.chooseOption);
    } else if (kind === 'url' && !isValidUrl(value)) {
      byField.set(name, messages.badUrl);
    } else if (kind === 'urls') {
      const links = value.split('\n').map((line) => line.trim()).filter(Boolean);
      const bad = links.flatMap((link, i) => (isValidUrl(link) ? [] : [String(i + 1)]));
      if (bad.length) {
        byField.set(name, fill(messages.badUrls, { lines: bad.join(', ') }));
      } else if (links.length > MAX_URLS) {
        byField.set(name, fill(messages.tooManyUrls, { max: MAX_URLS }));
      } else {
        fields[name] = links;
        continue;
      }
    } else if (kind === 'date') {
      if (!isValidIsoDate(value)) byField.set(name, messages.badDate);
      else if (value > today) byField.set(name, messages.futureDate);
    }
    fields[name] = value;
  }
  const general = [];
  if (!(fields.description || fields.listing_urls || fileCount)) general.push(messages.empty);
  if (fileCount > MAX_FILES) general.push(fill(messages.tooManyFiles, { max: MAX_FILES }));
  if (byField.size || general.length) return { errors: { byField, general } };
  return { fields };
}
