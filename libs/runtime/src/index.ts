export * from './log.js';
export * from './bus.js';
