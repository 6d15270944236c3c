// The core's public face: what the service layers (api, capture, metrics,
// config) import. Nothing here knows about HTTP. The stack (hot path) and
// the control plane (src/rtnl/) are both reached from here.
export { NetStack, defaultProtocols, type NetStackOptions, type NetStackLimits } from './netstack.ts';
export type { NetProtocol } from './protocol.ts';
export { emptyDropCounts, totalDrops, type DropCounts } from './drops.ts';
export { qdiscReplace, qdiscView, QDISC_KINDS, type QdiscSpec, type QdiscView } from './qdisc.ts';
export { EventBus, STACK_EVENT_TYPES, type StackEventType, type StackEventAction, type StackEventObjects, type StackEventListener } from './events.ts';
export * from '../rtnl/index.ts';
