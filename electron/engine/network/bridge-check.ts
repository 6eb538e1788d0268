/**
 * Whether a host bridge can take bridged cards: QEMU attaches them through qemu-bridge-helper,
 * which must be setuid root (unless QEMU runs as root) and allowed that bridge by
 * /etc/qemu/bridge.conf, and the bridge must exist. The decision is pure (facts in, problems and
 * the exact one-time root commands out); `readBridgeFacts` gathers the facts from this host.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { BridgeCheck, BridgeProblem } from '../../../common/contract/networks';

export const BRIDGE_CONF = '/etc/qemu/bridge.conf';

/** Where distributions put the helper (Debian and Ubuntu: the first). */
export const BRIDGE_HELPER_PATHS = [
  '/usr/lib/qemu/qemu-bridge-helper',
  '/usr/libexec/qemu-bridge-helper',
  '/usr/local/libexec/qemu-bridge-helper',
];

/** bridge.conf's rules, includes followed: `allow NAME|all`, `deny NAME|all`. */
export interface BridgeAcl {
  allow: string[];
  deny: string[];
}

export interface BridgeFacts {
  /** The helper's path, or null when none is installed. */
  helper: string | null;
  /** Setuid and owned by root. */
  helperSetuid: boolean;
  /** Vivarium (so QEMU and the helper) runs as root: no setuid needed. */
  root: boolean;
  /** null: bridge.conf does not exist. */
  acl: BridgeAcl | null;
  /** The host's bridges (/sys/class/net/NAME/bridge). */
  bridges: string[];
  /** Network interfaces that are not bridges (a name taken by one cannot become a bridge). */
  otherInterfaces: string[];
}

/** qemu-bridge-helper's rule: a `deny NAME` always wins, `deny all` loses to `allow NAME`. */
export function aclAllows(acl: BridgeAcl | null, bridge: string): boolean {
  if (!acl) return false;
  if (acl.deny.includes(bridge)) return false;
  if (acl.allow.includes(bridge)) return true;
  if (acl.deny.includes('all')) return false;
  return acl.allow.includes('all');
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The readiness of `bridge` from the facts: each missing piece with its root command. Pure. */
export function decideBridge(bridge: string, facts: BridgeFacts): BridgeCheck {
  const problems: BridgeProblem[] = [];
  const br = shellQuote(bridge);
  if (!facts.bridges.includes(bridge)) {
    problems.push(
      facts.otherInterfaces.includes(bridge)
        ? {
            what: `${bridge} is a network interface of this computer but not a bridge: bridged cards need a bridge.`,
            fix: `Pick a bridge (${facts.bridges.length ? facts.bridges.join(', ') : 'none yet'}) or make one with another name: sudo ip link add br0 type bridge && sudo ip link set br0 up`,
          }
        : {
            what: `There is no bridge called ${bridge} on this computer.`,
            fix: `sudo ip link add ${br} type bridge && sudo ip link set ${br} up`,
          },
    );
  }
  const helper = facts.helper ?? BRIDGE_HELPER_PATHS[0] ?? 'qemu-bridge-helper';
  if (!facts.helper) {
    problems.push({
      what: 'qemu-bridge-helper (which plugs a VM into a bridge) is not installed.',
      fix: 'sudo apt install qemu-system-common',
    });
  }
  if (!facts.root && (!facts.helper || !facts.helperSetuid)) {
    problems.push({
      what: `${helper} is not setuid root, so QEMU running as you cannot plug a card into a bridge.`,
      fix: `sudo chmod u+s ${helper}`,
    });
  }
  if (!aclAllows(facts.acl, bridge)) {
    const deniedByName = facts.acl?.deny.includes(bridge) ?? false;
    problems.push(
      deniedByName
        ? {
            what: `${BRIDGE_CONF} denies ${bridge} ("deny ${bridge}").`,
            fix: `sudo sed -i '/^[[:space:]]*deny[[:space:]]\\+${bridge.replace(/\./g, '\\.')}[[:space:]]*$/d' ${BRIDGE_CONF}`,
          }
        : {
            what: facts.acl
              ? `${BRIDGE_CONF} does not allow ${bridge}.`
              : `${BRIDGE_CONF} does not exist, so no bridge is allowed.`,
            fix: `${facts.acl ? '' : 'sudo mkdir -p /etc/qemu && '}echo 'allow ${bridge}' | sudo tee -a ${BRIDGE_CONF}`,
          },
    );
  }
  return {
    bridge,
    ok: problems.length === 0,
    problems,
    commands: problems.map((p) => p.fix).filter((fix) => !fix.startsWith('Pick ')),
    bridges: facts.bridges,
    helper: facts.helper,
  };
}

/** The message a start refused for a bridge that is not ready shows. */
export function bridgeNotReadyMessage(check: BridgeCheck, card: number): string {
  const what = check.problems.map((p) => p.what).join(' ');
  const commands = check.commands.length ? ` Run once, as root: ${check.commands.join(' ; ')}` : '';
  return `Card ${card + 1} is bridged to ${check.bridge}, which is not ready: ${what}${commands}`;
}

/** Parses bridge.conf text; `include` lines are returned for the reader to follow. */
export function parseBridgeConf(text: string): BridgeAcl & { includes: string[] } {
  const out = { allow: [] as string[], deny: [] as string[], includes: [] as string[] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^(allow|deny|include)\s+(\S+)$/.exec(line);
    if (!m) continue;
    const [, verb, arg] = m;
    if (verb === 'allow') out.allow.push(arg ?? '');
    else if (verb === 'deny') out.deny.push(arg ?? '');
    else out.includes.push(arg ?? '');
  }
  return out;
}

async function readAcl(file: string, depth = 0): Promise<BridgeAcl | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  const parsed = parseBridgeConf(text);
  const acl: BridgeAcl = { allow: parsed.allow, deny: parsed.deny };
  if (depth > 4) return acl;
  for (const inc of parsed.includes) {
    const sub = await readAcl(isAbsolute(inc) ? inc : join(dirname(file), inc), depth + 1);
    if (sub) {
      acl.allow.push(...sub.allow);
      acl.deny.push(...sub.deny);
    }
  }
  return acl;
}

/** This host's facts for `decideBridge`. */
export async function readBridgeFacts(
  opts: { helperPaths?: string[]; conf?: string; sysNet?: string } = {},
): Promise<BridgeFacts> {
  let helper: string | null = null;
  let helperSetuid = false;
  for (const path of opts.helperPaths ?? BRIDGE_HELPER_PATHS) {
    const st = await stat(path).catch(() => null);
    if (st?.isFile()) {
      helper = path;
      helperSetuid = (st.mode & 0o4000) !== 0 && st.uid === 0;
      break;
    }
  }
  const sysNet = opts.sysNet ?? '/sys/class/net';
  const names = await readdir(sysNet).catch(() => [] as string[]);
  const bridges: string[] = [];
  const otherInterfaces: string[] = [];
  for (const name of names) {
    const isBridge = await stat(join(sysNet, name, 'bridge')).then(
      () => true,
      () => false,
    );
    (isBridge ? bridges : otherInterfaces).push(name);
  }
  return {
    helper,
    helperSetuid,
    root: typeof process.getuid === 'function' && process.getuid() === 0,
    acl: await readAcl(opts.conf ?? BRIDGE_CONF),
    bridges: bridges.sort(),
    otherInterfaces: otherInterfaces.sort(),
  };
}

export async function checkBridge(bridge: string): Promise<BridgeCheck> {
  return decideBridge(bridge, await readBridgeFacts());
}
