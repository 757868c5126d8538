/**
 * Test-only fault injection: a receiver drops every Nth message of one bus
 * stream, as a lossy bus would, so that tests with a real nats-server can
 * lose chosen messages. Batch streams count only batches that carry
 * entries, so which request is lost does not depend on how many heartbeats
 * the timing happened to interleave. Set by `ZOOID_TEST_DROP_<STREAM>_EVERY=N`
 * (every Nth) or `ZOOID_TEST_DROP_<STREAM>_NTH=N` (the Nth only) in the
 * receiving process's environment, read once when the stream's receiver is
 * set up; never set outside tests, where the check is a constant `false`.
 */
export type DroppableStream = 'BROADCAST' | 'GATEWAY_BATCH' | 'LEARNER_BATCH';

export function testDrop(stream: DroppableStream): () => boolean {
  const every = Number(process.env[`ZOOID_TEST_DROP_${stream}_EVERY`] ?? 0);
  const nth = Number(process.env[`ZOOID_TEST_DROP_${stream}_NTH`] ?? 0);
  let n = 0;
  if (Number.isInteger(every) && every > 0) return () => ++n % every === 0;
  if (Number.isInteger(nth) && nth > 0) return () => ++n === nth;
  return () => false;
}
