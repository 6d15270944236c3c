// netstackctl link / maddr against a listening netstackd: ip's output layout
// line by line, every change checked in the stack itself, and the errors
// with ip's messages and exit codes (1 lookup, 2 refused, 255 arguments),
// none of which may change anything.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ctl, ctlInProcess, getJson, startServer, type TestServer } from './harness.ts';
import type { DeviceJson } from '../../src/cli/api-types.ts';

let srv: TestServer;
let url: string;
const run = (...args: string[]) => ctl(args, { url });

function dev(name: string) {
  const d = srv.stack.devices.get(name);
  assert.ok(d, `device ${name} exists`);
  return d;
}

async function devicesJson(): Promise<DeviceJson[]> {
  return getJson<DeviceJson[]>(`${url}/v1/devices`);
}

before(async () => {
  srv = await startServer();
  url = srv.url;
});
after(async () => srv.close());

describe('link show', () => {
  it('prints lo in ip link layout', async () => {
    const r = await run('link', 'show', 'dev', 'lo');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000');
    assert.match(lines[1]!, /^    link\/loopback 00:00:00:00:00:00 brd [0-9a-f:]{17}$/);
    assert.equal(lines[2], '');
    assert.equal(lines.length, 3);
  });

  it('shows a veth pair as ip does, with M-DOWN and NO-CARRIER while the peer is down', async () => {
    let r = await run('link', 'add', 'va', 'address', '02:00:00:00:00:0a', 'type', 'veth', 'peer', 'name', 'vb');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'ip link add prints nothing');
    r = await run('link', 'set', 'dev', 'vb', 'address', '02:00:00:00:00:0b');
    assert.equal(r.code, 0, r.stderr);
    r = await run('link', 'set', 'dev', 'va', 'up', 'mtu', '1400', 'txqueuelen', '500');
    assert.equal(r.code, 0, r.stderr);
    const va = dev('va');
    const vb = dev('vb');
    assert.equal(va.mtu, 1400);
    assert.equal(va.txQueueLen, 500);
    assert.ok(va.isUp());

    r = await run('link', 'show');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith(`${va.ifindex}: `));
    assert.deepEqual(lines.slice(at, at + 4), [
      `${va.ifindex}: va@vb: <NO-CARRIER,BROADCAST,MULTICAST,UP,M-DOWN> mtu 1400 qdisc noqueue state LOWERLAYERDOWN mode DEFAULT group default qlen 500`,
      '    link/ether 02:00:00:00:00:0a brd ff:ff:ff:ff:ff:ff',
      `${vb.ifindex}: vb@va: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN mode DEFAULT group default qlen 1000`,
      '    link/ether 02:00:00:00:00:0b brd ff:ff:ff:ff:ff:ff',
    ]);

    r = await run('link', 'set', 'vb', 'up');
    assert.equal(r.code, 0, r.stderr);
    r = await run('link', 'show', 'va');
    assert.equal(
      r.stdout,
      `${va.ifindex}: va@vb: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc noqueue state UP mode DEFAULT group default qlen 500\n` +
        '    link/ether 02:00:00:00:00:0a brd ff:ff:ff:ff:ff:ff\n',
    );
  });

  it('-s adds the RX/TX blocks of iproute2 6.1, and -s -s the error counters', async () => {
    const frame = '02000000000b' + '02000000000a' + '88b5' + '00'.repeat(46);
    const sent = await run('send', 'dev', 'va', frame, frame);
    assert.equal(sent.code, 0, sent.stderr);
    const va = dev('va');
    assert.equal(va.stats.txPackets, 2);
    assert.equal(va.stats.txBytes, 120);

    let r = await run('-s', 'link', 'show', 'dev', 'va');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').slice(2), [
      '    RX:  bytes packets errors dropped  missed   mcast           ',
      '             0       0      0       0       0       0 ',
      '    TX:  bytes packets errors dropped carrier collsns           ',
      '           120       2      0       0       0       0 ',
      '',
    ]);

    r = await run('link', 'show', 'dev', 'vb', '-s', '-s');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(dev('vb').stats.rxBytes, 120);
    assert.deepEqual(r.stdout.split('\n').slice(2), [
      '    RX:  bytes packets errors dropped  missed   mcast           ',
      // Nothing handles the frames' EtherType: Linux counts them as dropped
      // (not nohandler, which is for exact-match delivery only).
      '           120       2      0       2       0       0 ',
      '    RX errors:  length    crc   frame    fifo overrun',
      '                     0      0       0       0       0 ',
      '    TX:  bytes packets errors dropped carrier collsns           ',
      '             0       0      0       0       0       0 ',
      '    TX errors: aborted   fifo  window heartbt transns',
      `                     0      0       0       0       ${dev('vb').stats.carrierChanges} `,
      '',
    ]);
  });

  it('-d adds promiscuity, the MTU range and the kind line', async () => {
    const r = await run('link', 'show', 'dev', 'va', '-d');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[1], '    link/ether 02:00:00:00:00:0a brd ff:ff:ff:ff:ff:ff promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535 ');
    assert.equal(lines[2], '    veth ');
  });

  it('-br prints one padded line per device, as ip -br link', async () => {
    const r = await run('-br', 'link');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.ok(lines.includes('lo               UNKNOWN        00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP> '), r.stdout);
    assert.ok(lines.includes('va@vb            UP             02:00:00:00:00:0a <BROADCAST,MULTICAST,UP,LOWER_UP> '), r.stdout);
    assert.equal(lines.length, srv.stack.devices.size + 1);
  });

  it('-j prints the REST body as is, and -p indents it', async () => {
    const r = await run('link', 'show', '-j');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), await devicesJson());
    assert.equal(r.stdout.split('\n').length, 2, 'one line');
    const one = await run('-j', '-p', 'link', 'show', 'dev', 'vb');
    const parsed = JSON.parse(one.stdout) as DeviceJson[];
    assert.equal(parsed.length, 1);
    assert.deepEqual(parsed[0], (await devicesJson()).find((d) => d.ifname === 'vb'));
    assert.ok(one.stdout.split('\n').length > 10, 'indented');
  });
});

describe('link add, set, del', () => {
  it('applies several keywords in one request, or none of them', async () => {
    let r = await run('link', 'set', 'dev', 'vb', 'down', 'mtu', '1300', 'promisc', 'on', 'allmulticast', 'on', 'txqueuelen', '200', 'address', '02:00:00:00:00:0c');
    assert.equal(r.code, 0, r.stderr);
    const vb = dev('vb');
    assert.equal(vb.isUp(), false);
    assert.equal(vb.mtu, 1300);
    assert.equal(vb.txQueueLen, 200);
    assert.equal(vb.promiscuity, 1);
    assert.equal(vb.allmulti, 1);
    const view = (await devicesJson()).find((d) => d.ifname === 'vb')!;
    assert.equal(view.address, '02:00:00:00:00:0c');
    assert.ok(view.flags.includes('PROMISC') && view.flags.includes('ALLMULTI'));

    // A multicast address cannot be a device address: the MTU given with it must not stick either.
    r = await run('link', 'set', 'dev', 'vb', 'mtu', '1200', 'address', '01:00:5e:00:00:01');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^RTNETLINK answers: /);
    assert.equal(dev('vb').mtu, 1300);

    r = await run('link', 'set', 'dev', 'vb', 'promisc', 'off', 'allmulticast', 'off');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(dev('vb').promiscuity, 0);
    assert.equal(dev('vb').allmulti, 0);
  });

  it('renames a device that is down, and refuses one that is up (EBUSY)', async () => {
    let r = await run('link', 'set', 'dev', 'va', 'name', 'vz');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^RTNETLINK answers: Device or resource busy$/m);
    assert.ok(srv.stack.devices.get('va'));
    r = await run('link', 'set', 'dev', 'vb', 'name', 'vc');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(srv.stack.devices.get('vb'), undefined);
    assert.ok(srv.stack.devices.get('vc'));
    r = await run('link', 'show', 'dev', 'va');
    assert.match(r.stdout, /^\d+: va@vc: /);
  });

  it('adds a dummy with mtu, address, txqueuelen and up', async () => {
    const r = await run('link', 'add', 'dm0', 'type', 'dummy', 'mtu', '9000', 'address', '02:00:00:00:00:99', 'txqueuelen', '10', 'up');
    assert.equal(r.code, 0, r.stderr);
    const d = dev('dm0');
    assert.equal(d.kind, 'dummy');
    assert.equal(d.mtu, 9000);
    assert.equal(d.txQueueLen, 10);
    assert.ok(d.isUp());
    const show = await run('link', 'show', 'dm0');
    assert.match(show.stdout, /^\d+: dm0: <BROADCAST,NOARP,UP,LOWER_UP> mtu 9000 .* qlen 10\n    link\/ether 02:00:00:00:00:99 brd ff:ff:ff:ff:ff:ff\n$/);
  });

  it('adds a VLAN on a parent, shown as NAME@PARENT with its id under -d', async () => {
    let r = await run('link', 'add', 'link', 'va', 'name', 'va.7', 'type', 'vlan', 'id', '7');
    assert.equal(r.code, 0, r.stderr);
    const v = dev('va.7');
    assert.equal(v.kind, 'vlan');
    assert.equal(v.link?.name, 'va');
    r = await run('-d', 'link', 'show', 'dev', 'va.7');
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^\d+: va\.7@va: /);
    assert.equal(lines[2], '    vlan protocol 802.1Q id 7 ');

    r = await run('link', 'add', 'link', 'nope', 'name', 'nope.7', 'type', 'vlan', 'id', '7');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Cannot find device "nope"\n');
  });

  it('adds a VXLAN device with local and remote endpoints, and deletes it', async () => {
    let r = await run('link', 'add', 'vx9', 'type', 'vxlan', 'id', '42', 'local', '127.0.0.1:0', 'remote', '127.0.0.1:4789', 'remote', '127.0.0.1:4790', '-j');
    assert.equal(r.code, 0, r.stderr);
    const created = JSON.parse(r.stdout) as DeviceJson[];
    assert.equal(created[0]?.ifname, 'vx9');
    assert.equal(dev('vx9').kind, 'vxlan');
    r = await run('-d', 'link', 'show', 'vx9');
    assert.match(r.stdout.split('\n')[2]!, /^    vxlan id 42 remote 127\.0\.0\.1:4789 remote 127\.0\.0\.1:4790 local 127\.0\.0\.1:\d+ /);
    r = await run('link', 'del', 'dev', 'vx9');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(srv.stack.devices.get('vx9'), undefined);
  });

  it('sets netem with tc words in one request and removes it with "netem off"', async () => {
    let r = await run('link', 'set', 'dev', 'va', 'netem', 'delay', '100ms', '10ms', 'loss', '1%', 'rate', '1mbit', 'limit', '500');
    assert.equal(r.code, 0, r.stderr);
    let view = (await devicesJson()).find((d) => d.ifname === 'va')!;
    assert.equal(view.qdisc, 'netem');
    assert.equal(view.netem?.delay_ms, 100);
    assert.equal(view.netem?.jitter_ms, 10);
    assert.equal(view.netem?.loss, 1);
    assert.equal(view.netem?.rate_bps, 1_000_000);
    assert.equal(view.netem?.limit, 500);
    r = await run('-d', 'link', 'show', 'va');
    assert.equal(r.stdout.split('\n')[3], '    netem limit 500 delay 100ms 10ms loss 1% rate 1Mbit seed 1');

    // netem words mix with the other keywords of link set.
    r = await run('link', 'set', 'dev', 'va', 'netem', 'jitter', '5ms', 'duplicate', '2', 'mtu', '1450');
    assert.equal(r.code, 0, r.stderr);
    view = (await devicesJson()).find((d) => d.ifname === 'va')!;
    assert.equal(view.mtu, 1450);
    assert.equal(view.netem?.jitter_ms, 5);
    assert.equal(view.netem?.duplicate, 2);

    r = await run('link', 'set', 'dev', 'va', 'netem', 'off');
    assert.equal(r.code, 0, r.stderr);
    view = (await devicesJson()).find((d) => d.ifname === 'va')!;
    assert.equal(view.netem, null);
    assert.equal(view.qdisc, 'noqueue', 'back to the root qdisc of a veth');
  });

  it('deletes a veth pair with "link del dev X" and "link delete X"', async () => {
    let r = await run('link', 'add', 'vdel0', 'type', 'veth', 'peer', 'vdel1');
    assert.equal(r.code, 0, r.stderr);
    r = await run('link', 'del', 'dev', 'vdel0');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(srv.stack.devices.get('vdel0'), undefined);
    assert.equal(srv.stack.devices.get('vdel1'), undefined);
    await run('link', 'add', 'dmdel', 'type', 'dummy');
    r = await run('link', 'delete', 'dmdel');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(srv.stack.devices.get('dmdel'), undefined);
  });
});

describe('link errors', () => {
  it('a taken name is "RTNETLINK answers: File exists", exit 2, and creates nothing', async () => {
    const before = srv.stack.devices.size;
    const r = await run('link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vnew');
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n')[0], 'RTNETLINK answers: File exists');
    assert.equal(r.stdout, '');
    assert.equal(srv.stack.devices.size, before);
    assert.equal(srv.stack.devices.get('vnew'), undefined);
  });

  it('an unknown device is exit 1 with ip\'s messages', async () => {
    let r = await run('link', 'set', 'dev', 'nosuch', 'up');
    assert.deepEqual([r.code, r.stderr], [1, 'Cannot find device "nosuch"\n']);
    r = await ctlInProcess(['link', 'del', 'dev', 'nosuch'], { url });
    assert.deepEqual([r.code, r.stderr], [1, 'Cannot find device "nosuch"\n']);
    r = await ctlInProcess(['link', 'show', 'dev', 'nosuch'], { url });
    assert.deepEqual([r.code, r.stderr], [1, 'Device "nosuch" does not exist.\n']);
  });

  it('the service refusing a value is exit 2 with the errno text, and changes nothing', async () => {
    let r = await run('link', 'set', 'dev', 'va', 'mtu', '70000');
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n')[0], 'RTNETLINK answers: Invalid argument');
    assert.equal(dev('va').mtu, 1450);
    r = await run('link', 'del', 'dev', 'lo');
    assert.equal(r.code, 2);
    assert.equal(r.stderr.split('\n')[0], 'RTNETLINK answers: Operation not supported');
    assert.ok(srv.stack.devices.get('lo'));
  });

  it('bad arguments are exit 255 with a usage hint, and nothing reaches the service', async () => {
    const before = JSON.stringify(await devicesJson());
    const child = await run('link', 'set', 'dev', 'va', 'mtu', 'abc');
    assert.equal(child.code, 255);
    assert.equal(child.stderr, 'Error: argument "abc" is wrong: invalid "mtu" value.\nTry "netstackctl link help".\n');
    const cases: [string[], RegExp][] = [
      [['link', 'set', 'dev', 'va', 'frob'], /"frob" is a garbage/],
      [['link', 'set', 'dev', 'va', 'mtu', 'abc'], /argument "abc" is wrong: invalid "mtu" value/],
      [['link', 'set', 'dev', 'va', 'mtu', '1300', 'mtu', '1200'], /duplicate "mtu": "1200" is the second value/],
      [['link', 'set', 'dev', 'va', 'mtu'], /command line is not complete/],
      [['link', 'set', 'dev', 'va', 'promisc', 'maybe'], /"promisc" must be "on" or "off", not "maybe"/],
      [['link', 'set', 'dev', 'va', 'address', 'zz'], /"zz" is invalid lladdr/],
      [['link', 'set', 'dev', 'va', 'name', 'averyveryverylongname'], /"name" not a valid ifname/],
      [['link', 'set', 'dev', 'va', 'netem', 'delay', '10parsecs'], /unknown time unit "parsecs"/],
      [['link', 'set', 'dev', 'va', 'netem'], /"netem" needs/],
      [['link', 'set', 'dev', 'va', 'netem', 'loss', '150%'], /"loss" must be a percentage within 0..100/],
      [['link', 'set', 'dev', 'va'], /nothing to change/],
      [['link', 'add', 'x0', 'type', 'bogus'], /unknown device type "bogus"/],
      [['link', 'add', 'x0'], /needs "type"/],
      [['link', 'add', 'x0', 'type', 'vlan', 'id', '5'], /type vlan needs "link PARENT"/],
      [['link', 'add', 'x0', 'type', 'vxlan'], /type vxlan needs "id VNI"/],
      [['link', 'frob'], /Command "frob" is unknown/],
    ];
    for (const [args, message] of cases) {
      const r = await ctlInProcess(args, { url });
      assert.equal(r.code, 255, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.match(r.stderr, /Try "netstackctl link help"\.\n$/, args.join(' '));
      assert.equal(r.stdout, '');
    }
    assert.equal(JSON.stringify(await devicesJson()), before);
  });
});

describe('maddr', () => {
  it('joins and leaves a link-layer multicast group with one PATCH each', async () => {
    let r = await run('maddr', 'add', '01:00:5e:00:00:fb', 'dev', 'va');
    assert.equal(r.code, 0, r.stderr);
    let view = (await devicesJson()).find((d) => d.ifname === 'va')!;
    assert.deepEqual(view.multicast, [{ address: '01:00:5e:00:00:fb', users: 1 }]);
    r = await run('maddr', 'show', 'dev', 'va');
    assert.equal(r.stdout, `${dev('va').ifindex}:\tva\n\tlink  01:00:5e:00:00:fb\n`);
    r = await run('maddr', 'del', '01:00:5e:00:00:fb', 'dev', 'va');
    assert.equal(r.code, 0, r.stderr);
    view = (await devicesJson()).find((d) => d.ifname === 'va')!;
    assert.deepEqual(view.multicast, []);
  });

  it('leaving a group the device is not in is a lookup error; bad addresses are 255', async () => {
    let r = await run('maddr', 'del', '01:00:5e:00:00:fc', 'dev', 'va');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No such file or directory/);
    r = await ctlInProcess(['maddr', 'add', 'zz', 'dev', 'va'], { url });
    assert.equal(r.code, 255);
    r = await ctlInProcess(['maddr', 'add', '01:00:5e:00:00:fc', 'dev', 'nosuch'], { url });
    assert.deepEqual([r.code, r.stderr], [1, 'Cannot find device "nosuch"\n']);
  });
});
