/**
 * Progress of long CLI work (a log audit fetching thousands of tiles), on stderr so stdout stays
 * parseable. On a terminal: one line redrawn in place, at most ~10 times a second. Elsewhere (CI logs,
 * pipes), where carriage returns would pile up: a plain line every 10 % or every 5 s. Silent when quiet.
 */

/** What the bar writes to: `process.stderr` in the CLI, a string collector in tests. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): unknown;
}

export interface ProgressBarOptions {
  readonly label: string;
  readonly total: number;
  readonly stream?: ProgressStream;
  readonly quiet?: boolean;
  /** Milliseconds; injected so tests control time. */
  readonly clock?: { now(): number };
  /** Overrides `stream.isTTY`. */
  readonly tty?: boolean;
}

export interface ProgressBar {
  /** Adds `n` (default 1) units of completed work. */
  tick(n?: number): void;
  /** Sets the completed amount. */
  update(done: number): void;
  /** Draws the final state and ends the line. Later calls do nothing. */
  finish(): void;
}

const TTY_REDRAW_MS = 100;
const PLAIN_INTERVAL_MS = 5_000;
const PLAIN_STEP_PERCENT = 10;
const BAR_WIDTH = 20;

const groupDigits = (n: number): string => Math.round(n).toLocaleString('en-US');

/** `850/s`, `1.2k/s`, `3.4M/s`. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '-/s';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k/s`;
  return `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond)}/s`;
}

/** `5s`, `2m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The text of one progress report; `bar` adds the `[#####.....]` gauge. */
export function formatProgressLine(
  label: string,
  done: number,
  total: number,
  elapsedMs: number,
  bar: boolean,
): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const percent = Math.floor(fraction * 100);
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const eta = done >= total ? '0s' : rate > 0 ? formatDuration((total - done) / rate) : '--';
  const filled = Math.round(fraction * BAR_WIDTH);
  const gauge = bar ? ` [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]` : '';
  return `${label}${gauge} ${percent}% ${groupDigits(done)}/${groupDigits(total)} ${formatRate(rate)} ETA ${eta}`;
}

const silent: ProgressBar = { tick: () => undefined, update: () => undefined, finish: () => undefined };

export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  if (options.quiet === true) return silent;
  const stream = options.stream ?? process.stderr;
  const clock = options.clock ?? { now: () => Date.now() };
  const tty = options.tty ?? stream.isTTY === true;
  const total = Math.max(0, options.total);
  const start = clock.now();
  let done = 0;
  let finished = false;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let lastStep = -1;
  let lastLength = 0;
  let lastPrinted = -1;

  const line = (now: number): string => formatProgressLine(options.label, done, total, now - start, tty);

  const drawTty = (now: number): void => {
    let text = line(now);
    const columns = stream.columns;
    if (columns !== undefined && columns > 1 && text.length >= columns) text = text.slice(0, columns - 1);
    // Pad over the previous line rather than relying on an erase escape (works on dumb terminals too).
    stream.write(`\r${text.padEnd(lastLength)}`);
    lastLength = text.length;
    lastDraw = now;
  };

  const drawPlain = (now: number): void => {
    stream.write(`${line(now)}\n`);
    lastDraw = now;
    lastStep = stepOf(done);
    lastPrinted = done;
  };

  const stepOf = (n: number): number =>
    total > 0 ? Math.floor(((Math.min(n, total) / total) * 100) / PLAIN_STEP_PERCENT) : 0;

  const report = (): void => {
    if (finished) return;
    const now = clock.now();
    if (tty) {
      if (now - lastDraw >= TTY_REDRAW_MS) drawTty(now);
    } else if (stepOf(done) > lastStep || now - lastDraw >= PLAIN_INTERVAL_MS) {
      drawPlain(now);
    }
  };

  return {
    tick(n = 1) {
      done += n;
      report();
    },
    update(value) {
      done = value;
      report();
    },
    finish() {
      if (finished) return;
      const now = clock.now();
      if (tty) {
        drawTty(now);
        stream.write('\n');
      } else if (lastPrinted !== done) {
        drawPlain(now);
      }
      finished = true;
    },
  };
}
