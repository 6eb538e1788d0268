import { describe, expect, it } from 'vitest';
import {
  hostLocaleFrom,
  normaliseLocale,
  normaliseTimezone,
  parseDefaultKeyboard,
  parseXorgKeyboard,
  readHostDefaults,
} from '../../electron/engine/cloud-init/host-defaults';
import { CloudInitSpecSchema } from '../../electron/engine/cloud-init/user-data';

describe('normaliseTimezone', () => {
  it('keeps IANA names and falls back to UTC', () => {
    expect(normaliseTimezone('Europe/Paris')).toBe('Europe/Paris');
    expect(normaliseTimezone('America/Argentina/Buenos_Aires')).toBe(
      'America/Argentina/Buenos_Aires',
    );
    expect(normaliseTimezone('Etc/GMT-3')).toBe('Etc/GMT-3');
    expect(normaliseTimezone('Etc/UTC')).toBe('UTC');
    expect(normaliseTimezone(undefined)).toBe('UTC');
    expect(normaliseTimezone('+02:00')).toBe('UTC');
  });
});

describe('normaliseLocale', () => {
  it.each([
    ['en_US.UTF-8', 'en_US.UTF-8'],
    ['de_DE.utf8', 'de_DE.UTF-8'],
    ['fr_FR@euro', 'fr_FR.UTF-8'],
    ['fr_FR.ISO-8859-15@euro', 'fr_FR.UTF-8'],
    ['ca_ES.UTF-8@valencia', 'ca_ES.UTF-8@valencia'],
    ['pt-BR', 'pt_BR.UTF-8'],
    ['de', 'de_DE.UTF-8'],
    ['ja', 'ja_JP.UTF-8'],
    ['en', 'en_US.UTF-8'],
    ['C', 'en_US.UTF-8'],
    ['POSIX', 'en_US.UTF-8'],
    ['C.UTF-8', 'en_US.UTF-8'],
    ['', 'en_US.UTF-8'],
    [undefined, 'en_US.UTF-8'],
    ['sv_SE.UTF-8:en_US', 'sv_SE.UTF-8'],
    ['garbage value!', 'en_US.UTF-8'],
  ])('%s -> %s', (input, expected) => {
    expect(normaliseLocale(input)).toBe(expected);
  });

  it('takes LC_ALL over LC_CTYPE over LANG, then Intl', () => {
    expect(hostLocaleFrom({ LC_ALL: 'de_DE.UTF-8', LANG: 'fr_FR.UTF-8' }, 'en-US')).toBe(
      'de_DE.UTF-8',
    );
    expect(hostLocaleFrom({ LANG: 'fr_FR.UTF-8' }, 'en-US')).toBe('fr_FR.UTF-8');
    expect(hostLocaleFrom({ LC_ALL: 'C', LANG: 'fr_FR.UTF-8' }, 'en-US')).toBe('en_US.UTF-8');
    expect(hostLocaleFrom({}, 'nl-NL')).toBe('nl_NL.UTF-8');
    expect(hostLocaleFrom({}, undefined)).toBe('en_US.UTF-8');
  });
});

describe('keyboard files', () => {
  it("reads Debian's /etc/default/keyboard", () => {
    const text = [
      '# KEYBOARD CONFIGURATION FILE',
      'XKBMODEL="pc105"',
      'XKBLAYOUT="de,us"',
      'XKBVARIANT="nodeadkeys,"',
      'XKBOPTIONS=""',
      'BACKSPACE="guess"',
    ].join('\n');
    expect(parseDefaultKeyboard(text)).toEqual({ layout: 'de', variant: 'nodeadkeys' });
    expect(parseDefaultKeyboard('XKBLAYOUT=fr\n')).toEqual({ layout: 'fr' });
    expect(parseDefaultKeyboard('XKBMODEL=pc105\n')).toBeNull();
    expect(parseDefaultKeyboard('XKBLAYOUT="us; reboot"\n')).toBeNull();
  });

  it("reads systemd-localed's xorg.conf.d file", () => {
    const text = [
      'Section "InputClass"',
      '        Identifier "system-keyboard"',
      '        MatchIsKeyboard "on"',
      '        Option "XkbLayout" "gb"',
      '        Option "XkbVariant" "extd"',
      'EndSection',
    ].join('\n');
    expect(parseXorgKeyboard(text)).toEqual({ layout: 'gb', variant: 'extd' });
  });
});

describe('readHostDefaults', () => {
  it('gives values a seed accepts on this host', async () => {
    const d = await readHostDefaults();
    const parsed = CloudInitSpecSchema.safeParse({
      user: 'dev',
      sshAuthorizedKeys: [],
      passwordHash: '$6$a$b',
      hostname: 'box',
      instanceId: 'i',
      installGuestAgent: false,
      growRoot: false,
      ...d,
    });
    expect(parsed.success).toBe(true);
  });
});
