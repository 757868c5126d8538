import type { Logger } from 'pino';

/** Where a bar is drawn: process.stderr, or anything that writes and says whether it is a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** What is being done; starts each bar and line. */
  label: string;
  /** The whole amount of work, in units. */
  total: number;
  /** What is counted ("znodes", "deleted"); "bytes" prints sizes. Without one only the percentage shows. */
  unit?: string;
  /** Default process.stderr. A bar when it is a terminal, lines otherwise. */
  stream?: ProgressStream;
  /** Without a terminal the lines go to this logger, else as plain text to the stream. */
  logger?: Logger;
  /** Without a terminal, a line at every this many percent. Default 10. */
  stepPercent?: number;
  /**
   * This process shares its terminal with others (the children of `zooid
   * up`; default: ZOOID_PROCESS_NAME when the stream is stderr), named so:
   * bars are prefixed with the name and printed a line per step, since bars
   * redrawn in place by several processes would overwrite each other.
   */
  shared?: string;
}

export interface Progress {
  /** How much of the total is done so far; cheap enough to call per item. Ignored once ended. */
  update(done: number): void;
  /** Takes the bar off the screen and reports the summary, if any, the way lines are reported; only the first call counts. */
  end(summary?: string): void;
}

const BAR_WIDTH = 30;
/** A terminal bar is redrawn at most this often, so that per-item updates cost nothing. */
const REDRAW_MS = 100;

function amount(n: number, unit: string | undefined): string {
  if (unit !== 'bytes') return String(n);
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * Reports the progress of a long job: a bar redrawn in place on a terminal,
 * a bar line per step on a terminal shared with other processes, and a few
 * lines otherwise, for logs.
 */
export function startProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  const shared = o.shared ?? (o.stream === undefined ? process.env.ZOOID_PROCESS_NAME : undefined);
  const label = shared ? `${shared} ${o.label}` : o.label;
  const mode = !stream.isTTY ? 'lines' : shared ? 'bar lines' : 'bar';
  const total = Math.max(0, o.total);
  const step = Math.max(1, o.stepPercent ?? 10);
  const percent = (done: number) => (total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100)));
  let lastDraw = 0;
  let nextLine = step;
  let ended = false;

  const counts = (done: number) => (o.unit === undefined ? '' : ` ${amount(done, o.unit)}/${amount(total, o.unit)}${o.unit === 'bytes' ? '' : ` ${o.unit}`}`);
  const bar = (done: number) => {
    const pct = percent(done);
    const filled = Math.round((pct / 100) * BAR_WIDTH);
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(pct).padStart(3)}%${counts(done)}`;
  };
  const line = (done: number) => {
    if (mode === 'bar lines') stream.write(bar(done) + '\n');
    else if (o.logger) o.logger.info({ done, total, percent: percent(done) }, label);
    else stream.write(`${label}: ${o.unit === undefined ? `${percent(done)}%` : counts(done).trimStart()}\n`);
  };
  const draw = (done: number) => {
    stream.write(`\r\x1b[2K${bar(done)}`);
  };

  if (mode === 'bar') draw(0);
  else line(0);
  return {
    update(done) {
      if (ended) return;
      if (mode === 'bar') {
        const now = Date.now();
        if (now - lastDraw < REDRAW_MS && done < total) return;
        lastDraw = now;
        draw(done);
      } else if (percent(done) >= nextLine && (done < total || mode === 'bar lines')) {
        line(done);
        while (nextLine <= percent(done)) nextLine += step;
      }
    },
    end(summary) {
      if (ended) return;
      ended = true;
      if (mode === 'bar') stream.write('\r\x1b[2K');
      if (summary === undefined) return;
      if (o.logger) o.logger.info(summary);
      else stream.write(summary + '\n');
    },
  };
}
