// The protocol seam: a stack is built from a list of protocols; each
// registers its handlers, listeners and sysctls when attached and is closed
// with the stack. The rx handler hook lets an upper device take frames.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/clock.ts';
import { createDevice, NetStack, deviceKinds } from '../../src/stack/index.ts';
import type { NetProtocol } from '../../src/stack/protocol.ts';
import { PacketProtocol } from '../../src/packet/protocol.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import { netdevRxHandlerRegister, RX_HANDLER_CONSUMED, RX_HANDLER_PASS } from '../../src/dev/rx-handler.ts';
import type { SkBuff } from '../../src/skb/skbuff.ts';
import { buildFrame, ETH_P_TEST } from '../helpers/frames.ts';
import { throwsErrno } from '../helpers/errors.ts';
import { closeAndAssertQuiet, Ledger } from '../helpers/conservation.ts';
import { drainSocket, sendNow } from '../helpers/stack.ts';

class TestProto implements NetProtocol {
  readonly name = 'test';
  events: string[] = [];
  received = 0;
  closed = 0;
  attach(stack: NetStack): void {
    stack.sysctl.register({ 'net.test.knob': { default: 7, min: 1, max: 10 } });
    stack.notifier.subscribe((event) => this.events.push(event));
    stack.ptypes.add({
      type: ETH_P_TEST,
      dev: null,
      func: (skb) => {
        this.received++;
        skb.consume();
      },
    });
  }
  close(): void {
    this.closed++;
  }
}

test('a protocol attaches its sysctls, listener and handler; the stack finds it and closes it', async () => {
  const proto = new TestProto();
  const stack = new NetStack({ protocols: [new PacketProtocol(), proto] });
  assert.equal(stack.protocol<TestProto>('test'), proto);
  assert.equal(stack.protocol('vlan'), undefined, 'only the listed protocols are attached');
  assert.equal(deviceKinds(stack).includes('vlan'), false, 'and only theirs kinds exist');
  assert.equal(stack.sysctl.get('net.test.knob'), 7);
  stack.sysctl.set({ 'net.test.knob': 9 });
  assert.equal(stack.sysctl.snapshot()['net.test.knob'], 9);
  throwsErrno(() => stack.sysctl.set({ 'net.test.knob': 11 }), 'EINVAL');
  throwsErrno(() => stack.sysctl.register({ 'net.test.knob': { default: 1, min: 0, max: 1 } }), 'EEXIST');
  throwsErrno(() => stack.sysctl.register({ 'net.core.rmem_max': { default: 1, min: 0, max: 1 } }), 'EEXIST');
  const [a, b] = (await createDevice(stack, { kind: 'veth', name: 'a', peer: 'b', up: true })) as [NetDevice, NetDevice];
  assert.ok(proto.events.includes('REGISTER') && proto.events.includes('UP'));
  const tx = stack.openPacketSocket({ dev: a });
  sendNow(tx, buildFrame({ dst: b }));
  await settle();
  assert.equal(proto.received, 1);
  stack.close();
  assert.equal(proto.closed, 1);
});

test('the default stack has the built-in protocols; a protocol listed twice is EEXIST', () => {
  const stack = new NetStack();
  assert.ok(stack.protocol('vlan') !== undefined);
  stack.close();
  throwsErrno(() => new NetStack({ protocols: [new TestProto(), new TestProto()] }), 'EEXIST');
});

test('rx handler: CONSUMED takes the frame, PASS leaves it to the protocols; the hook is one per device', async () => {
  const stack = new NetStack();
  const [a, b] = (await createDevice(stack, { kind: 'veth', name: 'a', peer: 'b', up: true })) as [NetDevice, NetDevice];
  let seen = 0;
  netdevRxHandlerRegister(b, (skb: SkBuff) => {
    seen++;
    if (skb.len > 100) {
      skb.consume();
      return RX_HANDLER_CONSUMED;
    }
    return RX_HANDLER_PASS;
  }, null);
  throwsErrno(() => netdevRxHandlerRegister(b, () => RX_HANDLER_PASS, null), 'EBUSY');
  const tx = stack.openPacketSocket({ dev: a });
  const rx = stack.openPacketSocket({ dev: b, protocol: ETH_P_TEST, direction: 'in' });
  const ledger = new Ledger(stack);
  sendNow(tx, buildFrame({ dst: b, size: 60 }));
  sendNow(tx, buildFrame({ dst: b, size: 200 }));
  await settle();
  assert.equal(seen, 2);
  assert.deepEqual(drainSocket(rx).map((f) => f.length), [60]);
  ledger.assertConserved({ sent: 2, delivered: 2 });
  closeAndAssertQuiet(stack, [tx, rx]);
});
