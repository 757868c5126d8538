export * from "./observer.js";
