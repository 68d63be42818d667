// Where the time goes in a `--cpu-prof` profile: self time by area (our layers, xstate,
// undici, node internals, GC, idle) and by function, and inclusive time of the top frames.
// Run: node --import tsx scripts/bench/profile-summary.ts <file.cpuprofile> [top=25]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

function area(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'program (native, untracked)';
  const m = /\/src\/(clickhouse|otp|pool)\//.exec(url);
  if (m) return `colonnade src/${m[1]}`;
  if (OURS_BUNDLED.test(url)) return 'colonnade (the benchmark\'s bundle)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/')[0]}`;
  if (url === '') return 'native';
  return url.replace(/^file:\/\/\/work\/main\//, '');
}

// The benchmark runs colonnade bundled into .bench/ (see bundle.ts).
const OURS_BUNDLED = /\/\.bench\/colonnade-\d+\.js$/;
const ours = (url: string): boolean => /\/src\//.test(url) || OURS_BUNDLED.test(url);

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const busy = [...selfUs].filter(([id]) => byId.get(id)!.callFrame.functionName !== '(idle)').reduce((a, [, us]) => a + us, 0);

const byArea = new Map<string, number>();
const byFn = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const a = area(url, functionName);
  byArea.set(a, (byArea.get(a) ?? 0) + us);
  const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|src|\.bench)\//, '$1/')}:${lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur)!.callFrame;
    if (!ours(f.url)) continue;
    const k = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/src\//, 'src/').replace(/^.*\/\.bench\//, '.bench/')}:${f.lineNumber + 1}`;
    if (seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}
const pct = (us: number, of: number): string => `${((us / of) * 100).toFixed(1).padStart(5)}%`;
const sorted = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (percentages of busy)`);
console.log('\nself time by area');
for (const [a, us] of sorted(byArea)) if (a !== 'idle') console.log(`  ${pct(us, busy)}  ${a}`);
console.log(`\nself time by function (top ${top})`);
for (const [f, us] of sorted(byFn).filter(([f]) => !f.startsWith('(idle)')).slice(0, top)) console.log(`  ${pct(us, busy)}  ${f}`);
console.log(`\ninclusive time of colonnade's own functions (top ${top})`);
for (const [f, us] of sorted(inclusive).slice(0, top)) console.log(`  ${pct(us, busy)}  ${f}`);
