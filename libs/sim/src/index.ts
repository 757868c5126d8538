export { Rng } from './rng.js';
export { Scheduler, SkewedClock } from './scheduler.js';
export { Proc } from './process.js';
export { SimBus, CALM, type BusFaults } from './bus.js';
export { SimDisk, type DiskFaults } from './disk.js';
export { check, type CheckOptions, type CheckReport } from './check.js';
export { linearizeKey, type LinResult } from './linearizable.js';
export * from './history.js';
