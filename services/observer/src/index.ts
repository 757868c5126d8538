export * from "./observer.js";
export * from './observer-machine.js';
