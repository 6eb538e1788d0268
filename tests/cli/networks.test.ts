/**
 * `vivarium network ...` end to end on the built CLI: create (free subnet or given), list, show,
 * set, rm, with --json; an overlapping subnet and NAT without DHCP refused saying why; a bridge
 * that is not there reported with the root commands (exit 1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BridgeCheck, NetworkSummary } from '../../common/contract';
import { requireBuiltCli, runCli } from '../helpers/cli';
import { tempHome } from '../helpers/fixtures';

let home: Awaited<ReturnType<typeof tempHome>>;
const viv = (...args: string[]) => runCli(args, { VIVARIUM_HOME: home.dir });

beforeAll(async () => {
  requireBuiltCli();
  home = await tempHome('viv-cli-net-');
});

afterAll(async () => {
  await home.remove();
});

describe('vivarium network', () => {
  it('creates, lists, shows, changes and removes networks', async () => {
    const made = await viv('network', 'create', 'lab', '--subnet', '10.88.1.0/24', '--json');
    expect(made.code).toBe(0);
    const lab = JSON.parse(made.stdout) as NetworkSummary;
    expect(lab.config).toMatchObject({
      name: 'lab',
      subnet: '10.88.1.0/24',
      dhcp: true,
      nat: false,
    });
    const nat = await viv('network', 'create', 'outside', '--nat');
    expect(nat.stdout).toMatch(/subnet: +10\.13\.\d+\.0\/24, gateway and DNS 10\.13\.\d+\.2/);
    expect(nat.stdout).toContain('nic add VM --attach network:outside');

    const list = await viv('network', 'list');
    expect(list.stdout).toMatch(/lab +10\.88\.1\.0\/24 +on +off +no +-/);
    expect(list.stdout).toMatch(/outside +10\.13\.\d+\.0\/24 +on +on +no/);

    const set = await viv('network', 'set', 'lab', '--name', 'lab2', '--no-dhcp', '--json');
    expect((JSON.parse(set.stdout) as NetworkSummary).config).toMatchObject({
      name: 'lab2',
      dhcp: false,
    });
    const shown = await viv('network', 'show', 'LAB2');
    expect(shown.stdout).toContain('DHCP:    off');

    expect((await viv('network', 'rm', 'lab2')).stdout).toContain('Deleted the network lab2.');
    const after = JSON.parse((await viv('network', 'list', '--json')).stdout) as NetworkSummary[];
    expect(after.map((n) => n.config.name)).toEqual(['outside']);
  });

  it('refuses an overlapping subnet and NAT without DHCP, saying what to do', async () => {
    await viv('network', 'create', 'one', '--subnet', '10.89.1.0/24');
    const overlap = await viv('network', 'create', 'two', '--subnet', '10.89.0.0/16');
    expect(overlap.code).not.toBe(0);
    expect(overlap.stderr).toContain(
      '10.89.0.0/16 overlaps 10.89.1.0/24 of the network "one": pick another subnet',
    );
    const noDhcp = await viv('network', 'create', 'three', '--nat', '--no-dhcp');
    expect(noDhcp.code).not.toBe(0);
    expect(noDhcp.stderr).toMatch(/keep DHCP on, or turn NAT off/);
    const both = await viv('network', 'create', 'four', '--nat', '--isolated');
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(
      /--isolated.*cannot be used with.*--nat|--nat.*cannot be used with.*--isolated/,
    );
    const isolated = await viv('network', 'create', 'five', '--isolated', '--dhcp', '--json');
    expect((JSON.parse(isolated.stdout) as NetworkSummary).config).toMatchObject({
      dhcp: true,
      nat: false,
    });
  });

  it('reports a bridge that is not there with the root commands, and exits 1', async () => {
    const text = await viv('network', 'bridge-check', 'vivnobr7');
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('There is no bridge called vivnobr7');
    expect(text.stdout).toContain(
      'sudo ip link add vivnobr7 type bridge && sudo ip link set vivnobr7 up',
    );
    const json = await viv('network', 'bridge-check', 'vivnobr7', '--json');
    expect((JSON.parse(json.stdout) as BridgeCheck).ok).toBe(false);
  });
});
