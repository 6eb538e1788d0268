import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrateConfig } from '../../electron/engine/library/migrations';
import { writeFileAtomic } from '../../electron/engine/library/atomic-file';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'config-migrations');

describe('config migrations (golden files)', () => {
  for (const input of readdirSync(DIR).filter((f) => f.endsWith('.in.json'))) {
    it(input, () => {
      const migrated = migrateConfig(JSON.parse(readFileSync(join(DIR, input), 'utf8')));
      const out = join(DIR, input.replace('.in.json', '.out.json'));
      const text = `${JSON.stringify(migrated, null, 2)}\n`;
      if (process.env.UPDATE_GOLDEN) writeFileSync(out, text);
      expect(text).toBe(readFileSync(out, 'utf8'));
    });
  }

  it('refuses a config written by a newer Vivarium', () => {
    expect(() => migrateConfig({ configVersion: 99, id: 'x' })).toThrow(/newer Vivarium/);
  });

  it('names the invalid field', () => {
    expect(() =>
      migrateConfig({
        configVersion: 1,
        id: '0123456789ab',
        name: 'x',
        createdAt: 'now',
        memoryMiB: 0,
      }),
    ).toThrow(/memoryMiB/);
  });
});

describe('atomic config writes', () => {
  it('replaces the file whole and keeps the previous version as .bak', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'viv-atomic-'));
    const file = join(dir, 'vm.json');
    await writeFile(file, 'old');
    await writeFileAtomic(file, 'new');
    expect(await readFile(file, 'utf8')).toBe('new');
    expect(await readFile(`${file}.bak`, 'utf8')).toBe('old');
    expect((await readdir(dir)).sort()).toEqual(['vm.json', 'vm.json.bak']);
    await rm(dir, { recursive: true });
  });
});
