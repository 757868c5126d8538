export { main } from './main.js';
export { soakMain } from './soak.js';
