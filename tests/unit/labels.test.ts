import { describe, expect, it } from 'vitest';
import * as config from '../../common/contract/vm-config';
import { label, labelWithValue, VOCABULARIES, type LabelKind } from '../../common/labels';

describe('labels', () => {
  it('gives every value of every vocabulary a non-empty label, distinct within its kind', () => {
    for (const [kind, { values, labels }] of Object.entries(VOCABULARIES)) {
      const seen = new Set<string>();
      for (const v of values) {
        const text = (labels as Record<string, string>)[v];
        expect(text, `${kind}.${v}`).toBeTruthy();
        expect(text.trim(), `${kind}.${v}`).toBe(text);
        expect(seen.has(text), `${kind}.${v} repeats "${text}"`).toBe(false);
        seen.add(text);
      }
      expect(Object.keys(labels).sort(), kind).toEqual([...values].sort());
    }
  });

  it('covers every vocabulary list the contract exports', () => {
    // Every `*_MODELS`/`*_TYPES`/... array of strings in vm-config.ts is a vocabulary.
    const covered = new Set(
      Object.values(VOCABULARIES).flatMap((v) => [...v.values].sort().join(',')),
    );
    const lists = Object.entries(config).filter(
      ([name, v]) =>
        /^[A-Z_]+$/.test(name) &&
        Array.isArray(v) &&
        v.length > 0 &&
        v.every((x) => typeof x === 'string'),
    );
    expect(lists.length).toBeGreaterThanOrEqual(9);
    for (const [name, values] of lists) {
      const key = [...(values as string[])].sort().join(',');
      const inVocabulary = [...covered].some((c) =>
        (values as string[]).every((x) => c.split(',').includes(x)),
      );
      expect(inVocabulary, `${name} (${key}) has no labels in common/labels.ts`).toBe(true);
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
