export * from './nats.js';
export * from './ports.js';
export * from './supervise.js';
export { main } from './main.js';
