// The observer's barrel: what src/index.ts re-exports.
export { observer } from './observer.js';
export type { Observer, ObserverOptions } from './observer.js';
export type { ObserverState, ObservedPool, ObservedServer, TreeNode, RestartCount } from './collector.js';
