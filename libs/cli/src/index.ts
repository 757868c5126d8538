export * from './nats.js';
export * from './ports.js';
export * from './supervise.js';
export { main } from './main.js';
export { clusterPlan, natsUrlFile, type ChildPlan, type Topology } from './up.js';
export { clusterView, findLeader, formatView, type ClusterView, type GatewayRow, type MemberRow } from './status.js';
