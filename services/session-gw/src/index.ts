export * from './gateway.js';
export * from './session-machine.js';
export * from './fourletter.js';
export * from './learners.js';
export * from './admin-http.js';
export * from './admin/commands.js';
export { type AdminContext, type ConnectionInfo, type MemberInfo } from './admin/gather.js';
export * from './admin/latency.js';
export * from './admin/metrics.js';
