export * from './member.js';
export * from './machine.js';
export * from './pipeline.js';
export * from './sessions.js';
