/**
 * Names people read and ports other computers reach: VM names are NFC, without invisible or
 * direction-changing characters, unique case-insensitively; a forward on a non-loopback address
 * needs an explicit `public: true` (the CLI's --public, the Settings checkbox).
 */
import { describe, expect, it } from 'vitest';
import {
  CreateVmRequestSchema,
  PortForwardSchema,
  VmConfigSchema,
  VmNameSchema,
  VmPatchSchema,
  methods,
} from '../../common/contract';
import { isLoopbackAddress } from '../../common/rules/port-forwards';
import { nameKey } from '../../common/rules/vm-names';
import {
  parseCardNumber,
  parseForwardRef,
  parseForwardRule,
} from '../../electron/cli/forward-option';
import { natForwards } from '../../electron/engine/guest/ssh-access';
import { nameProblem } from '../../renderer/src/features/wizard/lib';

const message = (r: { success: boolean; error?: { issues: { message: string }[] } }) =>
  r.error?.issues[0]?.message;

describe('VM names', () => {
  it('are stored in NFC', () => {
    const decomposed = 'Cafe\u0301';
    expect(VmNameSchema.parse(decomposed)).toBe('Caf\u00e9');
    expect(VmNameSchema.parse('  Caf\u00e9  ')).toBe('Caf\u00e9');
  });

  it('refuse format characters: zero-width, bidi overrides, with a clear message', () => {
    for (const bad of ['a\u200bb', 'invoice\u202egpj.exe', 'x\u2066y', 'na\ufeffme', 'a\u00adb']) {
      const r = VmNameSchema.safeParse(bad);
      expect(r.success, JSON.stringify(bad)).toBe(false);
      expect(message(r)).toMatch(/invisible or text-direction characters/);
    }
    expect(message(VmNameSchema.safeParse('a\u0007b'))).toMatch(/control characters/);
    expect(VmNameSchema.parse('Ünïcödé 日本 ✓')).toBe('Ünïcödé 日本 ✓');
    const create = CreateVmRequestSchema.safeParse({ name: 'a\u200bb' });
    expect(create.success).toBe(false);
    expect(VmPatchSchema.safeParse({ name: 'ab\u202e' }).success).toBe(false);
  });

  it('compare in NFC lower case', () => {
    expect(nameKey('CAFE\u0301')).toBe(nameKey('café'));
    expect(nameProblem('Cafe\u0301', ['CAFÉ'])).toMatch(/already exists/);
    expect(nameProblem('a\u200bb', ['ab'])).toMatch(/invisible/);
    expect(nameProblem('ab', ['a\u200bb'])).toBeNull();
  });

  it('a stored config saved with an old name still loads (in NFC)', () => {
    const config = VmConfigSchema.parse({
      configVersion: VmConfigSchema.shape.configVersion.value,
      id: '0123456789ab',
      name: 'old\u200bname Cafe\u0301',
      createdAt: '2025-01-01T00:00:00.000Z',
      memoryMiB: 256,
      cpu: { count: 1 },
    });
    expect(config.name).toBe('old\u200bname Caf\u00e9');
  });
});

describe('port forwards', () => {
  const fwd = { hostPort: 8080, guestPort: 80 };

  it('knows loopback', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST'])
      expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['0.0.0.0', '192.168.1.5', '10.0.0.1', '127.0.0.256', '128.0.0.1', '::'])
      expect(isLoopbackAddress(a), a).toBe(false);
  });

  it('on loopback need nothing more; the default address is loopback', () => {
    expect(PortForwardSchema.parse(fwd)).toEqual({
      protocol: 'tcp',
      hostAddress: '127.0.0.1',
      ...fwd,
    });
    expect(PortForwardSchema.safeParse({ ...fwd, hostAddress: '127.0.0.5' }).success).toBe(true);
  });

  it('on any other address need public: true', () => {
    for (const hostAddress of ['0.0.0.0', '192.168.1.5']) {
      const r = PortForwardSchema.safeParse({ ...fwd, hostAddress });
      expect(r.success).toBe(false);
      expect(message(r)).toBe(
        `A forward on ${hostAddress} listens on every network, not just this computer: ` +
          'pass --public (CLI) or confirm in Settings',
      );
      expect(r.error?.issues[0]?.path).toEqual(['hostAddress']);
      expect(PortForwardSchema.safeParse({ ...fwd, hostAddress, public: false }).success).toBe(
        false,
      );
      expect(PortForwardSchema.parse({ ...fwd, hostAddress, public: true })).toMatchObject({
        hostAddress,
        public: true,
      });
    }
    const add = methods['forward.add'].safeParse({
      vm: 'web',
      forward: { ...fwd, hostAddress: '0.0.0.0' },
    });
    expect(add.success).toBe(false);
    expect(add.error?.issues[0]?.path).toEqual(['forward', 'hostAddress']);
  });

  it('a stored config with an old 0.0.0.0 forward still loads', () => {
    const config = VmConfigSchema.parse({
      configVersion: VmConfigSchema.shape.configVersion.value,
      id: '0123456789ab',
      name: 'old',
      createdAt: '2025-01-01T00:00:00.000Z',
      memoryMiB: 256,
      cpu: { count: 1 },
      nics: [
        {
          mac: '52:54:00:12:34:56',
          attach: { kind: 'nat', forwards: [{ ...fwd, hostAddress: '0.0.0.0' }] },
        },
      ],
    });
    const [forward] = natForwards(config);
    expect(forward).toMatchObject({ hostAddress: '0.0.0.0' });
    expect(forward).not.toHaveProperty('public');
  });

  it("the CLI reads forward rules with common's parser, card numbers from 1", () => {
    expect(parseForwardRule('2222:22')).toEqual({
      protocol: 'tcp',
      hostAddress: '127.0.0.1',
      hostPort: 2222,
      guestPort: 22,
    });
    expect(parseForwardRule('udp:0.0.0.0:5353:53')).toEqual({
      protocol: 'udp',
      hostAddress: '0.0.0.0',
      hostPort: 5353,
      guestPort: 53,
    });
    expect(parseForwardRule('8080:10.13.1.15:80')).toEqual({
      protocol: 'tcp',
      hostAddress: '127.0.0.1',
      hostPort: 8080,
      guestAddress: '10.13.1.15',
      guestPort: 80,
    });
    expect(() => parseForwardRule('22')).toThrow(/HOSTPORT:\[GUESTADDR:\]GUESTPORT/);
    expect(() => parseForwardRule('host:1:2')).toThrow(/is not a forward/);
    expect(() => parseForwardRule('8080:0')).toThrow(
      'The guest port 0 is out of range: use 1 to 65535',
    );
    expect(parseForwardRef('8080')).toEqual({ protocol: 'tcp', hostPort: 8080 });
    expect(parseForwardRef('udp:5353')).toEqual({ protocol: 'udp', hostPort: 5353 });
    expect(parseForwardRef('udp:127.0.0.1:5353:53')).toEqual({ protocol: 'udp', hostPort: 5353 });
    expect(() => parseForwardRef('70000')).toThrow(/out of range/);
    expect(parseCardNumber('1')).toBe(0);
    expect(parseCardNumber('4')).toBe(3);
    for (const bad of ['0', '5', 'x', '1.5']) {
      expect(() => parseCardNumber(bad)).toThrow('A card number is 1 to 4 (card 1 is the first)');
    }
  });
});
