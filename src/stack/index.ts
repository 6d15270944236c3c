// The core's public face: what the service layers (api, capture, metrics,
// config) import. Nothing here knows about HTTP.
// Registers the vxlan device kind (it binds UDP sockets, so it lives apart from devices.ts).
import './vxlan-kind.ts';
export { NetStack, type NetStackOptions, type NetStackLimits } from './netstack.ts';
export { createDevice, deleteDevice, registerDeviceKind, deviceKinds, type DeviceSpec, type DeviceKindName } from './devices.ts';
export { setLink, netemOf, type LinkChanges } from './link.ts';
export { devIoctl, IOCTL_REQUESTS, IOCTL_NUMBERS, type IoctlRequest, type IfreqIn, type IfreqOut } from './ioctl.ts';
export { emptyDropCounts, totalDrops, type DropCounts } from './drops.ts';
export { describeDevice, type DeviceView } from './describe.ts';
export { qdiscReplace, qdiscView, QDISC_KINDS, type QdiscSpec, type QdiscView } from './qdisc.ts';
