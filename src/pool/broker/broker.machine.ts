/*
 * The broker as the inspector sees it. The decisions live in `Broker` (broker.ts); this
 * actor mirrors its mode, so the supervision tree has a broker child whose state changes
 * show in the inspection stream without a snapshot per checkout.
 *
 *   ┌─────────┐  a caller waits   ┌─────────┐
 *   │ serving │ ────────────────► │ waiting │
 *   └─────────┘ ◄──────────────── └─────────┘
 *      ▲    │     line empty         │
 *      │    │ every server down      │ every server down
 *      │    ▼                        ▼
 *      │  ┌───────────┐ ◄────────────┘
 *      └─ │ no_server │   a probe brings a server back
 *         └───────────┘
 */
import { setup } from 'xstate';
import type { BrokerMode } from './broker.js';

/** The mode changes the broker reports (its `stopped` ends the actor instead). */
export type BrokerModeEvent = { readonly type: Exclude<BrokerMode, 'stopped'> };

const modes = {
  serving: { target: '.serving' },
  waiting: { target: '.waiting' },
  no_server: { target: '.no_server' },
} as const;

/**
 * Mirror of a pool's broker mode; `context.pool` names the pool.
 *
 * @example
 * const actor = createActor(brokerMachine, { input: { pool: 'MyClickHouse' } }).start();
 * actor.send({ type: 'waiting' });
 */
export const brokerMachine = setup({
  types: {
    context: {} as { readonly pool: string },
    input: {} as { readonly pool: string },
    events: {} as BrokerModeEvent,
  },
}).createMachine({
  id: 'broker',
  context: ({ input }) => ({ pool: input.pool }),
  initial: 'serving',
  on: modes,
  states: {
    serving: {},
    waiting: {},
    no_server: {},
  },
});
