/**
 * Choosing a server for one query. Strategies are small functions over the candidate
 * servers (healthy ones, usually those with an idle connection); the broker owns when to
 * ask, these only say whom.
 */

/**
 * How queries are spread over the servers.
 *
 * @example
 * const balance: BalanceStrategy = 'in_order'; // the first healthy server, the others take what spills over
 * definePool({ connectionStrings, balance });
 */
export type BalanceStrategy = 'round_robin' | 'random' | 'in_order' | 'least_busy';

/**
 * The names `balance` accepts, for validation and docs.
 *
 * @example
 * BALANCE_STRATEGIES.includes('least_busy'); // true
 */
export const BALANCE_STRATEGIES: readonly BalanceStrategy[] = ['round_robin', 'random', 'in_order', 'least_busy'];

/** A server the balancer may pick: its index in `connectionStrings` and its calls in flight. */
export interface Candidate {
  readonly server: number;
  readonly inFlight: number;
}

/** Picks one of `candidates` (never empty, sorted by `server`) and returns its server index. */
export type Balancer = (candidates: readonly Candidate[]) => number;

/**
 * Next server at or after `cursor`, wrapping around: the classic rotation.
 *
 * @example
 * roundRobin([{ server: 0, inFlight: 0 }, { server: 2, inFlight: 0 }], 1); // 2
 */
export function roundRobin(candidates: readonly Candidate[], cursor: number): number {
  for (const c of candidates) if (c.server >= cursor) return c.server;
  return candidates[0]!.server;
}

/**
 * A uniformly random candidate; `random` returns a number in [0, 1).
 *
 * @example
 * pickRandom([{ server: 0, inFlight: 0 }, { server: 1, inFlight: 0 }], () => 0.7); // 1
 */
export function pickRandom(candidates: readonly Candidate[], random: () => number): number {
  return candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))]!.server;
}

/**
 * The first candidate in `connectionStrings` order: primary first, the rest as fallbacks.
 *
 * @example
 * inOrder([{ server: 1, inFlight: 3 }, { server: 2, inFlight: 0 }]); // 1
 */
export function inOrder(candidates: readonly Candidate[]): number {
  return candidates[0]!.server;
}

/**
 * The candidate with the fewest calls in flight; ties rotate from `cursor` so an idle
 * pool still spreads its queries.
 *
 * @example
 * leastBusy([{ server: 0, inFlight: 2 }, { server: 1, inFlight: 0 }], 0); // 1
 */
export function leastBusy(candidates: readonly Candidate[], cursor: number): number {
  let min = Infinity;
  for (const c of candidates) min = Math.min(min, c.inFlight);
  return roundRobin(candidates.filter((c) => c.inFlight === min), cursor);
}

/**
 * A stateful balancer for one pool: rotation strategies keep their cursor here.
 *
 * @example
 * const pick = createBalancer('round_robin');
 * pick([{ server: 0, inFlight: 0 }, { server: 1, inFlight: 0 }]); // 0, then 1, then 0 ...
 */
export function createBalancer(strategy: BalanceStrategy, random: () => number = Math.random): Balancer {
  let cursor = 0;
  const rotate = (server: number): number => {
    cursor = server + 1;
    return server;
  };
  switch (strategy) {
    case 'round_robin':
      return (candidates) => rotate(roundRobin(candidates, cursor));
    case 'least_busy':
      return (candidates) => rotate(leastBusy(candidates, cursor));
    case 'random':
      return (candidates) => pickRandom(candidates, random);
    case 'in_order':
      return inOrder;
  }
}
