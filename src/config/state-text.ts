// The state file's text, kept one device at a time: each device's share of
// it (its entry, its addresses, static routes and permanent neighbours) is
// serialized once and kept until that device changes, as the stack's
// notifier and the internet layer's events say which device did. A change
// then costs what the changed device has, not a snapshot of every device
// (creating 10,000 devices one by one with --state was 10,000 snapshots of a
// growing list: quadratic). What stays proportional to the number of devices
// is putting the kept pieces together and writing them: one JSON file is
// rewritten whole (atomic rename), so each write is O(file size), and that
// is unavoidable with this format.
//
// The text is exactly `JSON.stringify(snapshotStack(stack).state, null, 2)`
// plus a newline (test/config/state-text.test.ts checks it after random
// sequences of changes): pieces are serialized by JSON.stringify itself and
// indented to the depth they sit at.

import type { NetDevice } from '../dev/netdevice.ts';
import type { NetdevEvent } from '../dev/notifier.ts';
import type { InetEvent, InetStack } from '../inet/inet.ts';
import { inetInternals } from '../inet/control.ts';
import type { NetStack } from '../stack/index.ts';
import { STATE_VERSION } from './schema.ts';
import { devicePart, socketsPart } from './snapshot.ts';

/** One device's share, serialized and indented as an element of the file's top-level arrays. */
interface Piece {
  entry: string | null;
  skipped: boolean;
  addresses: string[];
  routes: string[];
  neighbours: string[];
}

export interface StateTextResult {
  text: string;
  /** Devices of kinds the state file cannot describe. */
  skipped: string[];
  /** Service sockets left out (see Snapshot.skippedSockets). */
  skippedSockets: string[];
  /** Device entries in the file. */
  devices: number;
}

const ELEMENT_PAD = '    ';

/** `value` as JSON.stringify(..., 2) writes it as an element of a top-level array. */
function element(value: unknown): string {
  return ELEMENT_PAD + JSON.stringify(value, null, 2).replace(/\n/g, `\n${ELEMENT_PAD}`);
}

/** `value` as JSON.stringify(..., 2) writes it as the value of a top-level key. */
function member(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');
}

function array(elements: readonly string[]): string {
  if (elements.length === 0) return '[]';
  // Concatenated, not joined: V8 makes a rope of the kept pieces, and the one
  // copy is made when the file is written (join copies here, and slowly).
  let out = `[\n${elements[0]!}`;
  for (let i = 1; i < elements.length; i++) out += `,\n${elements[i]!}`;
  return `${out}\n  ]`;
}

export class StateText {
  /** Device shares serialized so far: the work changes cost (tests count it per change). */
  piecesSerialized = 0;
  private readonly pieces = new Map<NetDevice, Piece>();
  private sysctl: string | null = null;

  constructor(private readonly stack: NetStack) {}

  /**
   * A netdevice event: the device's share is rebuilt at the next text(), and
   * its veth peer's (whose entry may carry its settings). A rename rebuilds
   * every share, since other entries name it (a peer, a VLAN's parent, a
   * bridge port's master); renames are rare, and cost one full snapshot.
   */
  deviceEvent(event: NetdevEvent, dev: NetDevice): void {
    if (event === 'CHANGENAME') {
      this.pieces.clear();
      return;
    }
    this.pieces.delete(dev);
    if (dev.link !== null) this.pieces.delete(dev.link);
  }

  /**
   * An address, route or neighbour event: the share of the device it names.
   * Returns whether it changes what the file holds (learnt neighbours do not).
   */
  inetEvent(e: InetEvent): boolean {
    if (e.type === 'neigh' && !e.object.state.includes('PERMANENT')) return false;
    const dev = this.stack.devices.get(e.type === 'addr' ? e.object.ifname : e.object.dev);
    if (dev !== undefined) this.deviceEvent('CHANGE', dev);
    return true;
  }

  sysctlChanged(): void {
    this.sysctl = null;
  }

  /** The file's text now: shares of unchanged devices as they were kept, the others serialized again. */
  build(now: Date = new Date()): StateTextResult {
    const inet: InetStack | undefined = inetInternals(this.stack);
    const devices: string[] = [];
    const addresses: string[] = [];
    const routes: string[] = [];
    const neighbours: string[] = [];
    const skipped: string[] = [];
    const list = this.stack.devices.list();
    for (const dev of list) {
      let piece = this.pieces.get(dev);
      if (piece === undefined) {
        piece = this.serialize(dev, inet);
        this.pieces.set(dev, piece);
      }
      if (piece.entry !== null) devices.push(piece.entry);
      else if (piece.skipped) skipped.push(dev.name);
      addresses.push(...piece.addresses);
      routes.push(...piece.routes);
      neighbours.push(...piece.neighbours);
    }
    // Shares of devices that went without a word (none expected): let them go.
    if (this.pieces.size > list.length) for (const dev of this.pieces.keys()) if (!dev.registered) this.pieces.delete(dev);
    this.sysctl ??= member(this.stack.sysctl.snapshot({ writable: true }));
    let text = `{\n  "version": ${JSON.stringify(STATE_VERSION)},\n  "saved_at": ${JSON.stringify(now.toISOString())},\n  "sysctl": ${this.sysctl},\n  "devices": ${array(devices)}`;
    let skippedSockets: string[] = [];
    if (inet !== undefined) {
      // Sockets are few and not per device: made again each time (their addresses may have come or gone).
      const s = socketsPart(inet);
      skippedSockets = s.skippedSockets;
      text += `,\n  "addresses": ${array(addresses)},\n  "routes": ${array(routes)},\n  "neighbours": ${array(neighbours)},\n  "sockets": ${member(s.sockets)}`;
    }
    return { text: `${text}\n}\n`, skipped, skippedSockets, devices: devices.length };
  }

  private serialize(dev: NetDevice, inet: InetStack | undefined): Piece {
    this.piecesSerialized++;
    const p = devicePart(this.stack, dev, inet);
    return {
      entry: p.entry === null ? null : element(p.entry),
      skipped: p.skipped,
      addresses: p.addresses.map(element),
      routes: p.routes.map(element),
      neighbours: p.neighbours.map(element),
    };
  }
}
