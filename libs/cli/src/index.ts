export * from './nats.js';
export * from './ports.js';
export * from './supervise.js';
export { main } from './main.js';
export { clusterPlan, natsUrlFile, type ChildPlan, type Topology } from './up.js';
export { clusterView, findLeader, formatView, type ClusterView, type GatewayRow, type MemberRow } from './status.js';
export { parseFlags, envName, type FlagSpec } from './args.js';
export { CONFIG_KEYS, ConfigError, loadConfig, parseConfig, type ConfigKey, type LoadedConfig, type ServerEntry } from './config.js';
export { commonSpec, followerSpec, gatewaySpec, memberSpec, observerSpec, standaloneSpec } from './commands.js';
