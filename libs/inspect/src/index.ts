export * from './publisher.js';
export * from './chart.js';
export * from './values.js';
export * from './hub.js';
export * from './metrics.js';
export * from './stately.js';
export * from './assets.js';
export * from './view.js';
