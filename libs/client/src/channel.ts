/**
 * A push-to-pull queue: producers `push` values (from watchers and event
 * listeners), one consumer reads them with `for await`. Nothing is dropped:
 * values wait in order until read. `end()` finishes the iteration (with an
 * error when given one); a consumer that breaks out early calls `onReturn`.
 */
export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private readonly readers: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  private done = false;
  private error: unknown;

  constructor(private readonly onReturn: () => void = () => {}) {}

  push(value: T): void {
    if (this.done) return;
    const reader = this.readers.shift();
    if (reader) reader.resolve({ value, done: false });
    else this.buffer.push(value);
  }

  end(error?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    for (const r of this.readers.splice(0)) {
      if (error === undefined) r.resolve({ value: undefined, done: true });
      else r.reject(error);
    }
  }

  get ended(): boolean {
    return this.done;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.done) {
      const error = this.error;
      this.error = undefined;
      return error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(error);
    }
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.buffer.length = 0;
    if (!this.done) {
      this.end();
      this.onReturn();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
