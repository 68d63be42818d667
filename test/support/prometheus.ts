// A strict parser of the Prometheus text exposition format (0.0.4), for the observer's tests:
// it throws, naming the line, on anything a scraper could misread: a bad metric or label
// name, a bad escape, an unparsable value, a sample before its TYPE, a family split in two,
// a repeated series, a counter not named *_total, or a histogram whose buckets are not
// cumulative or whose +Inf bucket differs from its _count.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  readonly help: string | undefined;
  readonly samples: Sample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, where: string): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

function parseLabels(text: string, where: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 0;
  for (;;) {
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without '='`);
    const name = text.slice(i, eq);
    if (!LABEL.test(name) || name.startsWith('__')) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} given twice`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label ${name} value is not quoted`);
    let value = '';
    let j = eq + 2;
    for (;; j++) {
      const c = text[j];
      if (c === undefined) throw new Error(`${where}: unterminated value of label ${name}`);
      if (c === '"') break;
      if (c === '\n') throw new Error(`${where}: raw newline in label ${name}`);
      if (c === '\\') {
        const next = text[++j];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${next ?? ''} in label ${name}`);
      } else value += c;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`${where}: expected ',' or '}' after label ${name}`);
  }
}

function familyOf(sample: string, families: Map<string, Family>): Family | undefined {
  if (families.has(sample)) return families.get(sample);
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sample.endsWith(suffix)) {
      const f = families.get(sample.slice(0, -suffix.length));
      if (f && (f.type === 'histogram' || f.type === 'summary')) return f;
    }
  }
  return undefined;
}

/** Parses `text`; throws on the first violation. */
export function parsePrometheus(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: Family | undefined;
  text.slice(0, -1).split('\n').forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!METRIC.test(name)) throw new Error(`${where}: bad metric name ${name}`);
      let f = families.get(name);
      if (f && closed.has(name)) throw new Error(`${where}: family ${name} appears twice`);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`${where}: unknown type ${rest}`);
        if (f && f.samples.length > 0) throw new Error(`${where}: TYPE of ${name} after its samples`);
        if (f && f.type !== 'untyped') throw new Error(`${where}: second TYPE for ${name}`);
        f = { name, type: rest as Family['type'], help: f?.help, samples: [] };
      } else {
        f = { name, type: f?.type ?? 'untyped', help: rest, samples: f?.samples ?? [] };
      }
      if (current && current.name !== name) closed.add(current.name);
      families.set(name, f);
      current = f;
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`${where}: no metric name`);
    const name = line.slice(0, nameEnd);
    if (!METRIC.test(name)) throw new Error(`${where}: bad metric name ${name}`);
    let labels: Record<string, string> = {};
    let rest = line.slice(nameEnd);
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest.slice(1), where));
    const parts = rest.trim().split(' ');
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`${where}: expected ' value [timestamp]'`);
    const value = parseValue(parts[0]!, where);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp`);
    const f = familyOf(name, families);
    if (!f) throw new Error(`${where}: sample ${name} before its TYPE`);
    if (closed.has(f.name)) throw new Error(`${where}: family ${f.name} is split`);
    if (current && current !== f) throw new Error(`${where}: sample of ${f.name} inside family ${current.name}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`${where}: repeated series ${key}`);
    series.add(key);
    if (f.type === 'counter' && !name.endsWith('_total')) throw new Error(`${where}: counter ${name} does not end in _total`);
    if ((f.type === 'counter' || name.endsWith('_bucket') || name.endsWith('_count')) && !(value >= 0)) throw new Error(`${where}: negative or NaN count`);
    f.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, Sample[]>();
  const key = (l: Readonly<Record<string, string>>) => JSON.stringify(Object.entries(l).filter(([k]) => k !== 'le').sort());
  for (const s of f.samples) {
    const g = groups.get(key(s.labels)) ?? [];
    g.push(s);
    groups.set(key(s.labels), g);
  }
  for (const [k, samples] of groups) {
    const buckets = samples.filter((s) => s.name === `${f.name}_bucket`);
    const count = samples.find((s) => s.name === `${f.name}_count`);
    const sum = samples.find((s) => s.name === `${f.name}_sum`);
    if (!count || !sum || buckets.length === 0) throw new Error(`histogram ${f.name}${k}: needs _bucket, _sum and _count`);
    let lastLe = -Infinity;
    let lastValue = 0;
    for (const b of buckets) {
      const leText = b.labels.le;
      if (leText === undefined) throw new Error(`histogram ${f.name}${k}: bucket without le`);
      const le = parseValue(leText, `histogram ${f.name}`);
      if (!(le > lastLe)) throw new Error(`histogram ${f.name}${k}: le not increasing`);
      if (b.value < lastValue) throw new Error(`histogram ${f.name}${k}: buckets not cumulative`);
      lastLe = le;
      lastValue = b.value;
    }
    if (lastLe !== Infinity) throw new Error(`histogram ${f.name}${k}: no +Inf bucket`);
    if (lastValue !== count.value) throw new Error(`histogram ${f.name}${k}: +Inf bucket ${lastValue} != _count ${count.value}`);
  }
}

/** The value of the one sample of `name` whose labels include `match`; undefined when none. */
export function valueOf(families: Map<string, Family>, name: string, match: Readonly<Record<string, string>> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}

/** The sum of every sample of `name` whose labels include `match`. */
export function sumOf(families: Map<string, Family>, name: string, match: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const f of families.values()) {
    for (const s of f.samples) if (s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}
