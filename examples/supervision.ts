// A supervision tree in the terminal: a flaky worker crashes every 700 ms and is restarted
// (taking its rest_for_one sibling with it), until the tree is stopped after 4 s.
// Run: node --import tsx examples/supervision.ts
import { assign, createActor, setup } from 'xstate';
import { realClock, startSupervisor, supervisor, supervisorOf, type StartContext, type Supervisor } from '../src/otp.js';

const flaky = setup({ actions: { crash: () => { throw new Error('flaky worker gave up'); } } }).createMachine({
  id: 'flaky',
  initial: 'working',
  states: { working: { after: { 700: { actions: 'crash' } } } },
});

const ticker = setup({ types: { context: {} as { ticks: number } } }).createMachine({
  id: 'ticker',
  context: { ticks: 0 },
  initial: 'ticking',
  states: { ticking: { after: { 250: { target: 'ticking', reenter: true, actions: assign({ ticks: ({ context }) => context.ticks + 1 }) } } } },
});

// Machines take the tree's clock, so a test could run this same tree on a simulated one.
const clockOf = (context?: StartContext) => context?.clock ?? realClock;

const started = Date.now();
const line = (text: string) => console.log(`${String(Date.now() - started).padStart(5)} ms  ${text}`);

function render(sup: Supervisor, indent = ''): string[] {
  return sup.whichChildren().flatMap((child) => {
    const nested = child.actor === undefined ? undefined : supervisorOf(child.actor);
    const mark = child.running ? 'up  ' : 'down';
    const head = `${indent}${mark} ${child.id}${child.actor === undefined ? '' : ` (${child.actor.id})`}`;
    return [head, ...(nested === undefined ? [] : render(nested, `${indent}     `))];
  });
}

let app: Supervisor | undefined;
let last = '';
const root = await startSupervisor([
  { id: 'ticker', start: (ctx) => createActor(ticker, { clock: clockOf(ctx) }) },
  supervisor({
    id: 'jobs',
    strategy: 'rest_for_one',
    intensity: 10,
    period: 10_000,
    children: [
      { id: 'flaky', start: (ctx) => createActor(flaky, { clock: clockOf(ctx) }) },
      { id: 'reporter', start: (ctx) => createActor(ticker, { clock: clockOf(ctx) }) },
    ],
  }),
], {
  inspect: (event) => {
    if (event.type === '@xstate.snapshot' && (event.snapshot as { status?: string }).status === 'error') {
      line(`crash: ${(event.actorRef as { id?: string }).id} (${String((event.snapshot as { error?: Error }).error?.message)})`);
    }
    if (app === undefined || event.type !== '@xstate.snapshot') return;
    const tree = render(app).join('\n           ');
    if (tree !== last) {
      last = tree;
      line(`tree\n           ${tree}`);
    }
  },
});
app = root;
last = render(app).join('\n           ');
line(`started\n           ${last}`);

await new Promise((resolve) => setTimeout(resolve, 4_000));
line('stopping (reverse start order, each child within its shutdown)');
await app.stop();
line(`stopped: ${String(await app.stopped)}; the process ends by itself`);
