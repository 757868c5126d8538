export * from './replica.js';
export * from './outbox.js';
export { classify } from './ops.js';
