export * from './machine.js';
export * from './pipeline.js';
export * from './sessions.js';
export * from './member-store.js';
export * from './leader-role.js';
export * from './admin.js';
export * from './serve-replica.js';
export * from './presence.js';
