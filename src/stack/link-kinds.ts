// A stack's table of device kinds (the rtnl_link_ops list). The control
// plane (src/rtnl/) owns the kinds built into every stack; a protocol
// registers its own here when it is attached (VLAN), as a kernel module
// calls rtnl_link_register. The descriptor type is rtnl's (type-only here).

import { NetError } from '../errno.ts';
import type { DeviceKind } from '../rtnl/kind.ts';

export class LinkKindTable {
  private readonly kinds = new Map<string, DeviceKind>();

  /** rtnl_link_register: EEXIST for a kind that is registered already. */
  register(impl: DeviceKind): void {
    if (this.kinds.has(impl.kind)) throw new NetError('EEXIST', `device kind "${impl.kind}" is already registered`);
    this.kinds.set(impl.kind, impl);
  }

  unregister(kind: string): void {
    this.kinds.delete(kind);
  }

  get(kind: string): DeviceKind | undefined {
    return this.kinds.get(kind);
  }

  names(): string[] {
    return [...this.kinds.keys()];
  }
}
