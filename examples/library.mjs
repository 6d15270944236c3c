// The library entry point in use: two ends of a veth pair in one process, an
// ARP request sent on one end and read back on the other, with its one-line
// decode. Run from a project that depends on netstackd: `node library.mjs`.
import { NetStack, createDevice, describeFrame } from 'netstackd';

const stack = new NetStack();
await createDevice(stack, { kind: 'veth', name: 'veth0', peer: 'veth1', up: true });
const rx = stack.openPacketSocket({ dev: stack.getDevice('veth1') });
const tx = stack.openPacketSocket({ dev: stack.getDevice('veth0') });

// who-has 192.0.2.2 tell 192.0.2.1, to the broadcast address
const arp = Buffer.from(
  'ffffffffffff020000000001080600010800060400010200000000' + '01c0000201' + '000000000000' + 'c0000202',
  'hex',
);
tx.send(arp);
stack.drain(); // run the bottom half now instead of on the next tick

const frame = rx.recvFrame();
console.log(frame.ifname, frame.data.length, describeFrame(frame.data));
console.log('drops:', stack.totalDrops());
stack.close();
