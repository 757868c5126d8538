export * from './gateway.js';
export * from './session-machine.js';
export * from './fourletter.js';
export * from './learners.js';
