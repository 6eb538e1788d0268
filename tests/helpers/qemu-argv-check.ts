/**
 * Reads a QEMU argv the way QEMU does, to prove that no user value smuggles in an option: every
 * option string Vivarium writes is split with QEMU's own rules (QemuOpts/keyval: a single comma
 * separates, `,,` is a literal comma, the first bare word is the implied key) or read as JSON,
 * and each key must be one Vivarium itself writes for that option.
 */

/** One `key=value` of an option string, as QEMU would see it. */
export interface OptPair {
  key: string;
  value: string;
}

/**
 * QEMU's get_opt_name_value (util/qemu-option.c): a name runs to the first `=` or `,`; without
 * `=` the first word is the implied key's value (when the option has one), later bare words are
 * flags (`foo` is foo=on, `nofoo` foo=off); a value runs to the first single comma.
 */
export function parseQemuOpts(s: string, impliedKey: string | null): OptPair[] {
  const out: OptPair[] = [];
  let p = 0;
  let first = true;
  while (p < s.length) {
    const rest = s.slice(p);
    const stop = rest.search(/[=,]/);
    const len = stop < 0 ? rest.length : stop;
    if (rest[len] !== '=') {
      if (first && impliedKey) {
        const [value, next] = readValue(s, p);
        out.push({ key: impliedKey, value });
        p = next;
      } else {
        const name = rest.slice(0, len);
        out.push(
          name.startsWith('no') ? { key: name.slice(2), value: 'off' } : { key: name, value: 'on' },
        );
        p += len;
      }
    } else {
      const [value, next] = readValue(s, p + len + 1);
      out.push({ key: rest.slice(0, len), value });
      p = next;
    }
    first = false;
    if (p < s.length) p++; // the separating comma
  }
  return out;
}

/** get_opt_value: up to the first comma that is not doubled; `,,` is one literal comma. */
function readValue(s: string, start: number): [value: string, next: number] {
  let value = '';
  let p = start;
  while (p < s.length) {
    if (s[p] === ',') {
      if (s[p + 1] !== ',') break;
      value += ',';
      p += 2;
      continue;
    }
    value += s.charAt(p);
    p++;
  }
  return [value, p];
}

interface OptionRule {
  /** The key QEMU gives the first bare word, if the option has one. */
  implied: string | null;
  /** Every key Vivarium writes in this option (QemuOpts or JSON). */
  keys: readonly string[];
}

/** The options whose strings carry values; anything else with a comma in it is reported. */
const OPTION_RULES: Readonly<Record<string, OptionRule>> = {
  '-name': { implied: 'guest', keys: ['guest', 'process', 'debug-threads'] },
  '-drive': { implied: null, keys: [] },
  '-blockdev': {
    implied: null,
    keys: ['driver', 'filename', 'node-name', 'read-only', 'file', 'cache'],
  },
  '-device': {
    implied: 'driver',
    keys: [
      'driver',
      'drive',
      'id',
      'bootindex',
      'bus',
      'unit',
      'netdev',
      'mac',
      'audiodev',
      'tpmdev',
      // The cloud seed's disk and the guest agent's virtio-serial port.
      'serial',
      'chardev',
      'name',
      // Disks: the guest-visible write cache (cache modes), a SCSI disk's target, and the
      // spare PCIe root ports' chassis numbers.
      'write-cache',
      'scsi-id',
      'lun',
      'chassis',
      // The memory balloon gives memory back to a guest about to run out.
      'deflate-on-oom',
    ],
  },
  '-netdev': {
    implied: 'type',
    keys: ['type', 'id', 'hostfwd', 'restrict', 'sock', 'br', 'helper'],
  },
  '-chardev': { implied: 'backend', keys: ['backend', 'id', 'path', 'server', 'wait', 'logfile'] },
  '-vnc': { implied: 'vnc', keys: ['vnc'] },
  '-machine': { implied: 'type', keys: ['type', 'smm', 'pflash0', 'pflash1'] },
  '-mon': { implied: null, keys: ['chardev', 'mode'] },
  '-audiodev': { implied: 'driver', keys: ['driver', 'id'] },
  '-tpmdev': { implied: 'type', keys: ['type', 'id', 'chardev'] },
  '-accel': { implied: 'accel', keys: ['accel', 'thread'] },
  '-global': { implied: null, keys: ['driver', 'property', 'value'] },
  '-msg': { implied: null, keys: ['timestamp'] },
  '-sandbox': {
    implied: 'enable',
    keys: ['enable', 'obsolete', 'elevateprivileges', 'spawn', 'resourcecontrol'],
  },
};

/** Options whose whole value is one string (a path, a number, a command line): no splitting. */
const WHOLE_VALUE = new Set([
  '-kernel',
  '-initrd',
  '-append',
  '-cpu',
  '-smp',
  '-m',
  '-pidfile',
  '-serial',
]);
/** Options without a value. */
const FLAGS = new Set(['-no-user-config', '-nodefaults', '-S']);

/** The option strings of one argv, each split as QEMU would: [option, its pairs]. */
export function splitOptions(argv: readonly string[]): Array<[string, OptPair[]]> {
  const out: Array<[string, OptPair[]]> = [];
  for (let i = 0; i < argv.length; i++) {
    const opt = argv[i] ?? '';
    if (FLAGS.has(opt)) continue;
    const value = argv[++i];
    if (value === undefined) throw new Error(`${opt} has no value`);
    if (WHOLE_VALUE.has(opt)) continue;
    const rule = OPTION_RULES[opt];
    if (!rule) throw new Error(`unexpected option ${opt} in Vivarium's own argv`);
    out.push([
      opt,
      value.startsWith('{') ? jsonPairs(opt, value) : parseQemuOpts(value, rule.implied),
    ]);
  }
  return out;
}

function jsonPairs(opt: string, value: string): OptPair[] {
  const parsed = JSON.parse(value) as unknown;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${opt} ${value} is JSON but not an object`);
  }
  return Object.entries(parsed).map(([key, v]) => ({
    key,
    value: typeof v === 'string' ? v : JSON.stringify(v),
  }));
}

/**
 * Problems with Vivarium's part of an argv (without the user's extra arguments): a key no rule
 * allows, a key given twice, or a `-name` whose guest or process is not the one asked for.
 */
export function argvProblems(
  argv: readonly string[],
  expect: { name: string; id: string },
): string[] {
  const problems: string[] = [];
  let split: Array<[string, OptPair[]]>;
  try {
    split = splitOptions(argv);
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
  for (const [opt, pairs] of split) {
    const allowed = OPTION_RULES[opt]?.keys ?? [];
    const seen = new Set<string>();
    for (const { key } of pairs) {
      if (!allowed.includes(key)) problems.push(`${opt} carries a key "${key}" nobody chose`);
      if (seen.has(key)) problems.push(`${opt} sets "${key}" twice`);
      seen.add(key);
    }
    if (opt === '-name') {
      const get = (k: string) => pairs.find((p) => p.key === k)?.value;
      if (get('guest') !== expect.name) {
        problems.push(`-name guest is ${JSON.stringify(get('guest'))}, not the VM's name`);
      }
      if (get('process') !== `qemu-${expect.id}`) {
        problems.push(`-name process is ${JSON.stringify(get('process'))}`);
      }
    }
  }
  return problems;
}
