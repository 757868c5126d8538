export * from './quorum.js';
export * from './election.js';
export * from './history.js';
export * from './acks.js';
export * from './stream.js';
export { assert } from './assert.js';
export { hexZxid } from '@zooid/protocol';
