// The control plane: `ip link` (add, del, set), ioctl, describe, device
// kinds. Everything here throws NetError with an errno; the frame path
// (src/stack/) only counts.
// Registers the vxlan device kind (it binds UDP sockets, so it lives apart from devices.ts).
import './vxlan-kind.ts';
// Registers the bridge device kind.
import './bridge-kind.ts';
export { createDevice, deleteDevice, registerDeviceKind, deviceKind, deviceKinds, type DeviceSpec, type DeviceKindName, type CommonSettings } from './devices.ts';
export type { DeviceKind, MadeDevices } from './kind.ts';
export { setLink, netemOf, type LinkChanges } from './link.ts';
export { devIoctl, IOCTL_REQUESTS, IOCTL_NUMBERS, type IoctlRequest, type IfreqIn, type IfreqOut } from './ioctl.ts';
export { describeDevice, type DeviceView } from './describe.ts';
