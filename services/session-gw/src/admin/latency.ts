/**
 * Request latency as ZooKeeper reports it (min/avg/max in milliseconds), kept
 * as four numbers: recording one is a few additions, no allocation.
 */
export class Latency {
  count = 0;
  total = 0;
  min = 0;
  max = 0;
  last = 0;

  record(ms: number): void {
    if (this.count === 0 || ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    this.count++;
    this.total += ms;
    this.last = ms;
  }

  get avg(): number {
    return this.count === 0 ? 0 : this.total / this.count;
  }

  reset(): void {
    this.count = 0;
    this.total = 0;
    this.min = 0;
    this.max = 0;
    this.last = 0;
  }
}

/** ZooKeeper prints whole milliseconds for min/max and a fraction for the average. */
export const wholeMs = (ms: number) => Math.round(ms);
export const fracMs = (ms: number) => Math.round(ms * 10_000) / 10_000;
