export * from './constants.js';
export type * from './records.js';
export * from './bus.js';
