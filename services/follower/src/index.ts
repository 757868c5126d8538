export * from './member.js';
export * from './member-machine.js';
export * from './learner-role.js';
