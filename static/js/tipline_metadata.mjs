// Tipline protocol v1 object metadata (docs/PROTOCOL.md §6): canonical writing, strict
// reading and validation of the five kinds. Imports nothing; mirrors crypto/metadata.py.

export const KINDS = Object.freeze(['report', 'message', 'file', 'note', 'body']);
export const MAX_BODY_SIZE = Number.MAX_SAFE_INTEGER;
// A detached body's object id, as crypto/metadata.py _UUID: a lowercase UUID version 4.
const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export class ProtocolError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

const fail = (name, message) => {
  throw new ProtocolError(name, message);
};

// JSON with object keys sorted, as the Python writer produces (readers accept any JSON).
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// Returns [problemName, message] or null; mirrors crypto/metadata.py.
export function metadataProblem(m) {
  const bad = (message) => ['BadMetadata', message];
  if (!isObject(m)) return bad('The metadata is not a JSON object.');
  if (m.v !== 1) return bad('The metadata is not version 1.');
  if (!KINDS.includes(m.kind)) return bad('The metadata kind is missing or unknown.');
  let size = 0;
  if ('size' in m) {
    if (!Number.isInteger(m.size)) return bad("The metadata field 'size' is not an integer.");
    if (m.size < 0 || m.size > MAX_BODY_SIZE) {
      return ['LengthOutOfRange', "The metadata field 'size' is out of range."];
    }
    size = m.size;
  }
  const str = (f) => typeof m[f] === 'string';
  if (m.kind === 'report' && !(str('lang') && isObject(m.fields))) return bad('Bad report.');
  if ((m.kind === 'message' || m.kind === 'note') && !str('text')) return bad('No text.');
  if (m.kind === 'body' && 'size' in m) {
    return bad('A detached body takes its size from its file object.');
  }
  if (m.kind === 'file') {
    if (!(str('name') && m.name.length > 0 && str('type') && 'size' in m)) return bad('Bad file.');
    if (!(typeof m.sha256 === 'string' && /^[0-9a-f]{64}$/.test(m.sha256))) return bad('Bad sha256.');
    if ('body' in m && !(typeof m.body === 'string' && UUID4.test(m.body))) {
      return bad("The metadata field 'body' is not a lowercase UUID4 string.");
    }
  }
  if (m.kind !== 'file' && size !== 0) return bad('Only file objects carry a body.');
  return null;
}

// The length of the body inside an object with this (valid) metadata: `size`, or 0 when
// there is none or the body is detached (a file naming a body object). As declared_size.
export function declaredSize(m) {
  return 'body' in m ? 0 : m.size ?? 0;
}

// JSON.parse keeps the last of duplicate keys and reads 1.0 as 1; v1 readers reject
// duplicate keys anywhere, and a top-level "v" or "size" written with a fraction or exponent.
// Runs on text JSON.parse already accepted, so a small tokenizer suffices.
function strictJsonProblem(text) {
  const re = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|[{}[\]:,]/g;
  const stack = []; // a Set of keys per open object, null per open array
  let expectKey = false;
  let topLevelKey = null;
  let match;
  while ((match = re.exec(text)) !== null) {
    const token = match[0];
    const inObject = stack[stack.length - 1] instanceof Set;
    if (token === '{' || token === '[') {
      stack.push(token === '{' ? new Set() : null);
      expectKey = token === '{';
    } else if (token === '}' || token === ']') {
      stack.pop();
      expectKey = false;
    } else if (token === ',') {
      expectKey = inObject;
    } else if (token === ':') {
      expectKey = false;
    } else if (expectKey) {
      const key = JSON.parse(token);
      if (stack[stack.length - 1].has(key)) return 'duplicate key';
      stack[stack.length - 1].add(key);
      topLevelKey = stack.length === 1 ? key : null;
      expectKey = false;
    } else if (stack.length === 1 && (topLevelKey === 'v' || topLevelKey === 'size')) {
      if (/[.eE]/.test(token)) return 'non-integer number';
    }
  }
  return null;
}

export function parseMetadata(bytes) {
  let value;
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    if (text.charCodeAt(0) === 0xfeff) throw new Error('BOM');
    value = JSON.parse(text);
    if (strictJsonProblem(text)) throw new Error('not strict JSON');
  } catch {
    fail('BadMetadata', 'The metadata is not valid UTF-8 JSON.');
  }
  const problem = metadataProblem(value);
  if (problem) fail(problem[0], problem[1]);
  return value;
}
