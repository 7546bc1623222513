/**
 * CPU profiles of this thread through the inspector (the same sampling profiler as `node --cpu-prof`,
 * but only over a chosen window), and a summary of where the samples fell: by module of the innermost
 * JavaScript frame, with native code (better-sqlite3, node:crypto bindings, ...) counted under the
 * module that called it.
 */
import type { Profiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';

/** Starts sampling every `intervalUs`; the returned function stops and returns the profile. */
export async function startCpuProfile(intervalUs = 250): Promise<() => Promise<Profiler.Profile>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return async () => {
    try {
      const { profile } = await session.post('Profiler.stop');
      await session.post('Profiler.disable');
      return profile;
    } finally {
      session.disconnect();
    }
  };
}

export interface ProfileShare {
  readonly name: string;
  readonly ms: number;
  /** Share of the profile's wall time. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly wallMs: number;
  /** By module of the innermost JavaScript frame: `src/vault`, `better-sqlite3`, `node:internal/crypto`... */
  readonly modules: ProfileShare[];
  /** By function (self time); native functions with the JavaScript function that called them. */
  readonly functions: ProfileShare[];
}

function moduleOf(url: string): string {
  const nodeModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nodeModules !== null) return nodeModules[1] as string;
  const own = /\/(src|bench|test)\/([^/]+)\//.exec(url);
  if (own !== null) return `${own[1]}/${own[2]}`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url;
}

/** Our files from `src/` on (`src/vault/fhir-repository.ts`); a dependency's as `better-sqlite3/…/transaction.js`. */
function fileOf(url: string): string {
  const own = /\/((?:src|bench|test)\/.+)$/.exec(url);
  if (own !== null && !url.includes('/node_modules/')) return own[1] as string;
  const file = url.split('/').at(-1) ?? url;
  const module = moduleOf(url);
  return module === url ? url : `${module}/…/${file}`;
}

function top(map: Map<string, number>, wallMs: number, count: number): ProfileShare[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => ({ name, ms, share: ms / wallMs }));
}

/**
 * Self time of every sample, attributed to the innermost frame that has a script URL (so native code is
 * counted under its caller and marked "native"); `(idle)`, `(garbage collector)` and `(program)` are
 * kept as V8 names them.
 */
export function summarizeCpuProfile(profile: Profiler.Profile, count = 12): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  let wallUs = 0;
  for (let i = 0; i < samples.length; i++) {
    // The time until the next sample belongs to this one.
    const us = deltas[i + 1] ?? 0;
    wallUs += us;
    const leaf = byId.get(samples[i] as number);
    if (leaf === undefined) continue;
    const name = leaf.callFrame.functionName || '(anonymous)';
    let module: string;
    let fn: string;
    if (leaf.callFrame.url === '' && name.startsWith('(')) {
      module = name;
      fn = name;
    } else {
      let frame: Profiler.ProfileNode | undefined = leaf;
      while (frame !== undefined && frame.callFrame.url === '') frame = byId.get(parent.get(frame.id) ?? -1);
      const caller = frame === undefined ? '(native)' : moduleOf(frame.callFrame.url);
      const callerFn =
        frame === undefined
          ? ''
          : `${frame.callFrame.functionName || '(anonymous)'} in ${fileOf(frame.callFrame.url)}`;
      module = leaf.callFrame.url === '' ? `${caller} (native)` : caller;
      fn =
        leaf.callFrame.url === ''
          ? `${name} (native, from ${callerFn})`
          : `${name} (${fileOf(leaf.callFrame.url)})`;
    }
    modules.set(module, (modules.get(module) ?? 0) + us / 1000);
    functions.set(fn, (functions.get(fn) ?? 0) + us / 1000);
  }
  const wallMs = wallUs / 1000;
  return { wallMs, modules: top(modules, wallMs, count), functions: top(functions, wallMs, count) };
}

export function formatProfileShares(shares: readonly ProfileShare[]): string {
  return shares.map((s) => `${s.name} ${(s.share * 100).toFixed(1)}%`).join(', ');
}
