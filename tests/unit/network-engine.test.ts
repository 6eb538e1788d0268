import { describe, expect, it } from 'vitest';
import type { NetworkConfig } from '../../common/contract';
import {
  aclAllows,
  decideBridge,
  parseBridgeConf,
  type BridgeFacts,
} from '../../electron/engine/network/bridge-check';
import { routerArgs, routerHostForward } from '../../electron/engine/network/router';
import { networkConflict } from '../../electron/engine/network/store';
import { networkRunFiles, switchArgs } from '../../electron/engine/network/switch';
import { enginePaths } from '../../electron/engine/paths';

const net = (over: Partial<NetworkConfig>): NetworkConfig => ({
  configVersion: 1,
  id: 'a1b2c3d4e5f6',
  name: 'lab',
  subnet: '10.13.5.0/24',
  dhcp: true,
  nat: false,
  forwards: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

const ready: BridgeFacts = {
  helper: '/usr/lib/qemu/qemu-bridge-helper',
  helperSetuid: true,
  root: false,
  acl: { allow: ['br0'], deny: [] },
  bridges: ['br0'],
  otherInterfaces: ['eth0', 'lo'],
};

describe('bridge readiness', () => {
  it('is ready when every piece is there', () => {
    expect(decideBridge('br0', ready)).toMatchObject({ ok: true, problems: [], commands: [] });
  });

  it('names each missing piece with the root command that adds it', () => {
    const check = decideBridge('br1', { ...ready, helperSetuid: false, acl: null, bridges: [] });
    expect(check.ok).toBe(false);
    expect(check.commands).toEqual([
      'sudo ip link add br1 type bridge && sudo ip link set br1 up',
      'sudo chmod u+s /usr/lib/qemu/qemu-bridge-helper',
      "sudo mkdir -p /etc/qemu && echo 'allow br1' | sudo tee -a /etc/qemu/bridge.conf",
    ]);
  });

  it('needs no setuid helper as root; says an interface that is no bridge is not one', () => {
    const check = decideBridge('eth0', { ...ready, root: true, helperSetuid: false });
    expect(check.problems.map((p) => p.what)).toEqual([
      expect.stringContaining('eth0 is a network interface of this computer but not a bridge'),
      '/etc/qemu/bridge.conf does not allow eth0.',
    ]);
  });

  it("reads bridge.conf like qemu-bridge-helper: a named deny wins, 'deny all' loses to a named allow", () => {
    const parsed = parseBridgeConf('# c\nallow br0\ndeny all\ninclude /etc/qemu/more.conf\n');
    expect(parsed).toEqual({ allow: ['br0'], deny: ['all'], includes: ['/etc/qemu/more.conf'] });
    expect(aclAllows(parsed, 'br0')).toBe(true);
    expect(aclAllows(parsed, 'br1')).toBe(false);
    expect(aclAllows({ allow: ['all'], deny: ['br2'] }, 'br2')).toBe(false);
    expect(aclAllows(null, 'br0')).toBe(false);
  });
});

describe('networks side by side', () => {
  it('refuses a name taken whatever its case, and an overlapping subnet naming the other network', () => {
    const lab = net({});
    expect(networkConflict({ id: 'x', name: 'LAB', subnet: '10.13.9.0/24' }, [lab])?.field).toBe(
      'name',
    );
    const overlap = networkConflict({ id: 'x', name: 'wide', subnet: '10.13.0.0/16' }, [lab]);
    expect(overlap?.field).toBe('subnet');
    expect(overlap?.message).toContain('10.13.0.0/16 overlaps 10.13.5.0/24 of the network "lab"');
    expect(networkConflict({ ...lab, subnet: '10.13.5.0/25' }, [lab])).toBeNull();
  });
});

describe('switch and router argv', () => {
  const files = networkRunFiles(enginePaths('/home/u/.viv', '/run/user/1000/viv'), 'a1b2c3d4e5f6');

  it('runs the switch as a daemon with a private control folder and a pid file', () => {
    expect(switchArgs(files)).toEqual([
      '-s',
      '/run/user/1000/viv/net/a1b2c3d4e5f6/switch',
      '-m',
      '700',
      '-d',
      '-p',
      '/run/user/1000/viv/net/a1b2c3d4e5f6/switch.pid',
    ]);
  });

  it('puts a user-mode stack on the switch through a hub, closed without NAT, with the forwards', () => {
    const closed = routerArgs(net({}), files);
    expect(closed).toContain('user,id=nat,net=10.13.5.0/24,restrict=on');
    const f = {
      protocol: 'tcp' as const,
      hostAddress: '127.0.0.1',
      hostPort: 8080,
      guestAddress: '10.13.5.15',
      guestPort: 80,
      vmId: null,
    };
    expect(routerHostForward(f)).toBe('tcp:127.0.0.1:8080-10.13.5.15:80');
    const open = routerArgs(net({ nat: true, forwards: [f] }), files);
    expect(open).toContain('user,id=nat,net=10.13.5.0/24,hostfwd=tcp:127.0.0.1:8080-10.13.5.15:80');
    expect(open).toContain('vde,id=sw,sock=/run/user/1000/viv/net/a1b2c3d4e5f6/switch');
    expect(open).toContain('hubport,id=p1,hubid=0,netdev=sw');
  });
});
