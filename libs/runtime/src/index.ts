export * from './log.js';
export * from './bus.js';
export * from './progress.js';
export * from './turn.js';
export * from './faults.js';
