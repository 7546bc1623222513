/** The shapes every benchmark group produces and the runner prints, charts and stores. */

/** One figure compared with one of this machine's raw limits measured in the same run. */
export interface Ratio {
  /** The figure divided by the limit, in the direction `text` states. */
  readonly value: number;
  /** Human wording, e.g. `0.78 × raw SQLite batched commit rate (120,000 rows/s)`. */
  readonly text: string;
  /** Id of the limit figure (absent for configured constants such as the block time). */
  readonly limitId?: string;
}

export interface Figure {
  readonly group: string;
  /** Stable id, e.g. `log.append.c256`; used by charts, ratios and the JSON output. */
  readonly id: string;
  readonly label: string;
  /** The headline value; for latencies the median (p50). */
  readonly value: number;
  readonly unit: string;
  /** For latencies: the 99th percentile, same unit. */
  readonly p99?: number;
  /** Secondary numbers (sample counts, MB/s beside ops/s, ...). */
  readonly extra?: Readonly<Record<string, number | string>>;
  readonly ratios: readonly Ratio[];
  readonly note?: string;
}

export interface ChartSpec {
  /** File name under bench/results, e.g. `log-append.svg`. */
  readonly file: string;
  readonly title: string;
  readonly unit: string;
  /** Figures drawn as bars, in order. */
  readonly figureIds: readonly string[];
  /** Raw limits drawn as grey reference bars after the figures. */
  readonly referenceIds?: readonly string[];
  /** For p50/p99 figures, draw the p99 as a second thinner bar. */
  readonly showP99?: boolean;
  readonly scale: 'linear' | 'log';
}

export interface GroupResult {
  readonly figures: Figure[];
  readonly charts: ChartSpec[];
  readonly notes: string[];
}

export interface BenchOptions {
  readonly quick: boolean;
  /** Record CPU profiles where a group supports it (slower: figures from such a run are not comparable). */
  readonly profile: boolean;
  /** Data sizes given with `--size <name>=<n>` (e.g. `export` patients); a group has its own default. */
  readonly sizes?: Readonly<Record<string, number>>;
  /** `--peer-<name> <value>` pairs, in order, for the side-by-side group (bench/support/side-by-side.ts). */
  readonly peerArgs?: readonly (readonly [string, string])[];
}

export interface GroupContext {
  readonly options: BenchOptions;
  /** bench/results: where a group may write extra files (CPU profiles). */
  readonly resultsDir: string;
  /** One progress line (stderr). */
  progress(message: string): void;
  /** A raw limit of this machine, measured once per run (on first use if the limits group did not run). */
  limit(id: string): Promise<Figure>;
  /** Registers clean-up to run if the process is interrupted (anvil children, temp dirs). */
  onInterrupt(cleanup: () => Promise<void> | void): () => void;
}

export interface Group {
  readonly name: string;
  readonly description: string;
  run(ctx: GroupContext): Promise<GroupResult>;
}
