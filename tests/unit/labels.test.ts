import { describe, expect, it } from 'vitest';
import * as config from '../../common/contract/vm-config';
import { label, labelWithValue, VOCABULARIES, type LabelKind } from '../../common/labels';

describe('labels', () => {
  it('gives every value of every vocabulary a non-empty label, distinct within its kind', () => {
    for (const [kind, { values, labels }] of Object.entries(VOCABULARIES)) {
      const seen = new Set<string>();
      for (const v of values) {
        const text = (labels as Record<string, string>)[v] ?? '';
        expect(text, `${kind}.${v}`).toBeTruthy();
        expect(text.trim(), `${kind}.${v}`).toBe(text);
        expect(seen.has(text), `${kind}.${v} repeats "${text}"`).toBe(false);
        seen.add(text);
      }
      expect(Object.keys(labels).sort(), kind).toEqual([...values].sort());
    }
  });

  it('covers every vocabulary list the contract exports', () => {
    // Every non-empty array of strings exported by vm-config.ts is a vocabulary.
    const vocabularies = Object.values(VOCABULARIES).map((v) => v.values as readonly string[]);
    const lists = Object.entries(config as Record<string, unknown>).filter(
      (entry): entry is [string, string[]] =>
        Array.isArray(entry[1]) &&
        entry[1].length > 0 &&
        entry[1].every((x: unknown) => typeof x === 'string'),
    );
    expect(lists.length).toBeGreaterThanOrEqual(8);
    for (const [name, values] of lists) {
      const covered = vocabularies.some((v) => values.every((x) => v.includes(x)));
      expect(covered, `${name} has no labels in common/labels.ts`).toBe(true);
    }
  });

  it('names the models the way the issue asks', () => {
    expect(label('video', 'std')).toBe('Standard VGA');
    expect(label('nicModel', 'virtio-net-pci')).toBe('VirtIO network');
    expect(labelWithValue('video', 'std')).toBe('Standard VGA (std)');
    const k: LabelKind = 'machine';
    expect(label(k, 'q35')).toMatch(/Q35/);
  });
});
