import type { LearnerToGw } from '@zooid/protocol';

/**
 * Collects everything a learner has to say to each gateway during one turn of
 * the event loop and hands it over as one batch per gateway. Entries keep the
 * order they were pushed in, which is what keeps a session's notifications
 * ahead of the reply that follows them.
 */
export class Outbox {
  private batches = new Map<string, LearnerToGw[]>();
  private scheduled = false;

  constructor(
    private readonly send: (gateway: string, entries: LearnerToGw[]) => void,
    /** Runs the flush at the end of the turn. */
    private readonly defer: (fn: () => void) => void,
  ) {}

  push(gateway: string, entry: LearnerToGw): void {
    let batch = this.batches.get(gateway);
    if (!batch) this.batches.set(gateway, (batch = []));
    batch.push(entry);
    if (!this.scheduled) {
      this.scheduled = true;
      this.defer(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    const batches = this.batches;
    this.batches = new Map();
    for (const [gateway, entries] of batches) this.send(gateway, entries);
  }
}
