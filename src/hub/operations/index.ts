// The operations module: every hub-to-spoke operation goes through here, from the console, the CLI and the
// heartbeat loop alike. See docs/ARCHITECTURE.md for where each protocol step lives.
export { claimOperation } from './claim';
export { completeOperation } from './complete';
export { createCapsul, type CreateRequest } from './create';
export { fleetCapacity, listFleet } from './fleet';
export { heardCapacity, onlineHosts, onlineSince } from './hosts';
export { destroyCapsul, findCapsul, refreshCapsul, setCapsulState, type Scope } from './owner';
export type { Actor } from './record';
