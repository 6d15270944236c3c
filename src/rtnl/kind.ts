// One descriptor per device kind: everything the control plane needs to
// know about a kind, in one place (the rtnl_link_ops of the kernel). To add a
// kind: write its descriptor (create, and snapshot/describe when it has
// settings of its own), register it (rtnl/kinds.ts for a built-in kind, or
// stack.linkKinds.register from a protocol's attach), add its spec to
// DeviceSpecs (declaration merging), and its request schema to the API
// (api/http/schemas/device.ts) and config file (config/schema.ts) under the
// same kind name. docs/architecture-kinds.md walks through it.

import type { NetDevice } from '../dev/netdevice.ts';
import type { NetStack } from '../stack/netstack.ts';
import type { CommonSettings, DeviceSpec } from './devices.ts';

/** The devices a kind made (both ends for veth), not yet registered, with the names they ask for. */
export type MadeDevices = { dev: NetDevice; name: string }[];

export interface DeviceKind<S extends DeviceSpec = DeviceSpec> {
  /** The kind name (`ip link add ... type KIND`), the key of the API and config schemas. */
  readonly kind: S['kind'];
  /** newlink: unregistered devices for `spec`; throws NetError for a bad spec. */
  create(stack: NetStack, spec: S): Promise<MadeDevices> | MadeDevices;
  /** Release what creation took (sockets, timers) when registration fails. */
  abandon?(dev: NetDevice): void;
  /**
   * The kind's own fields of the spec that makes `dev` again (the common
   * settings are the caller's), for the state file; null when the device
   * cannot be recreated from a spec. Absent: the kind has no fields of its own.
   */
  snapshot?(dev: NetDevice): Omit<S, keyof CommonSettings | 'kind' | 'name'> | null;
}
