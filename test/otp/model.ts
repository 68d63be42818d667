// A small reference model of OTP's supervisor rules (supervisor.erl, in miniature and
// synchronous), used by the randomized test to predict what the runtime must do.
import type { RestartType, Strategy } from '../../src/otp/types.js';

export interface WorkerNode { readonly kind: 'worker'; readonly id: string; readonly restart: RestartType }
export interface SupNode {
  readonly kind: 'sup';
  readonly id: string;
  readonly restart: RestartType;
  readonly strategy: Strategy;
  readonly intensity: number;
  readonly period: number;
  readonly children: readonly Node[];
}
export type Node = WorkerNode | SupNode;

export interface MChild { readonly node: Node; readonly path: string; running: boolean; sup: MSup | undefined }
export interface MSup { readonly node: SupNode; readonly path: string; children: MChild[]; restarts: number[]; parent: MSup | undefined }

/** The outside world the model shares with the real run: start counts and refused starts. */
export interface World {
  now(): number;
  starts: Map<string, number>;
  failNext: Map<string, number>;
}

export class Model {
  root: MSup | undefined;
  rootFailed = false;

  constructor(private readonly world: World, rootNode: SupNode) {
    const started = this.startNode(rootNode, rootNode.id, undefined);
    if (started === false) throw new Error('the model root failed to start');
    this.root = started;
  }

  /** Starts a node; a supervisor starts its children in order (init). `false` = failed start. */
  startNode(node: Node, path: string, parent: MSup | undefined): MSup | undefined | false {
    this.world.starts.set(path, (this.world.starts.get(path) ?? 0) + 1);
    if (node.kind === 'worker') {
      const fails = this.world.failNext.get(path) ?? 0;
      if (fails > 0) {
        this.world.failNext.set(path, fails - 1);
        return false;
      }
      return undefined;
    }
    const sup: MSup = { node, path, children: node.children.map((n) => ({ node: n, path: `${path}/${n.id}`, running: false, sup: undefined })), restarts: [], parent };
    for (const child of sup.children) {
      if (!this.startChild(sup, child)) {
        this.terminateAll(sup);
        return false;
      }
    }
    return sup;
  }

  startChild(sup: MSup, child: MChild): boolean {
    const started = this.startNode(child.node, child.path, sup);
    if (started === false) return false;
    child.running = true;
    child.sup = started;
    return true;
  }

  terminate(sup: MSup, child: MChild): void {
    if (child.running && child.sup !== undefined) this.terminateAll(child.sup);
    child.running = false;
    child.sup = undefined;
    if (child.node.restart === 'temporary') sup.children = sup.children.filter((c) => c !== child);
  }

  terminateAll(sup: MSup): void {
    for (const child of [...sup.children].reverse()) this.terminate(sup, child);
  }

  /** A running child ended by itself (`abnormal` = crash). */
  exit(sup: MSup, child: MChild, abnormal: boolean): void {
    child.running = false;
    child.sup = undefined;
    if (child.node.restart === 'temporary') {
      sup.children = sup.children.filter((c) => c !== child);
      return;
    }
    if (child.node.restart === 'transient' && !abnormal) return;
    this.restart(sup, child);
  }

  private restart(sup: MSup, first: MChild): void {
    let child = first;
    for (;;) {
      const now = this.world.now();
      sup.restarts = [now, ...sup.restarts.filter((t) => t >= now - sup.node.period)];
      if (sup.restarts.length > sup.node.intensity) return this.fail(sup);
      const at = sup.children.indexOf(child);
      const group = sup.node.strategy === 'one_for_one' ? [child] : sup.node.strategy === 'one_for_all' ? [...sup.children] : sup.children.slice(at);
      for (const member of [...group].reverse()) if (member !== child) this.terminate(sup, member);
      let failed: MChild | undefined;
      for (const member of group) {
        if (!sup.children.includes(member) || member.running) continue;
        if (!this.startChild(sup, member)) {
          failed = member;
          break;
        }
      }
      if (failed === undefined) return;
      child = failed;
    }
  }

  private fail(sup: MSup): void {
    this.terminateAll(sup);
    this.ended(sup, true);
  }

  /** A supervisor ended (failed, stopped, killed): its parent sees its exit. */
  ended(sup: MSup, abnormal: boolean): void {
    const parent = sup.parent;
    if (parent === undefined) {
      this.rootFailed = abnormal;
      this.root = undefined;
      return;
    }
    const record = parent.children.find((c) => c.sup === sup);
    if (record !== undefined) this.exit(parent, record, abnormal);
  }

  /** `id+` running, `id-` not; a running supervisor shows its children in brackets. */
  static render(sup: MSup): string {
    return sup.children.map((c) => `${c.node.id}${c.running ? '+' : '-'}${c.sup === undefined ? '' : `[${Model.render(c.sup)}]`}`).join(',');
  }

  supervisors(): MSup[] {
    const out: MSup[] = [];
    const walk = (s: MSup) => { out.push(s); for (const c of s.children) if (c.sup !== undefined) walk(c.sup); };
    if (this.root !== undefined) walk(this.root);
    return out;
  }

  runningWorkers(): Array<{ sup: MSup; child: MChild }> {
    return this.supervisors().flatMap((sup) => sup.children.filter((c) => c.running && c.node.kind === 'worker').map((child) => ({ sup, child })));
  }
}
