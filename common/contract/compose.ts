/** Builds the contract's one method table out of the domains' tables. */
import type { z } from 'zod';

/** A domain's methods: name -> request schema. */
export type MethodGroup = Readonly<Record<string, z.ZodType>>;

/** The groups' tables as one type: the intersection of every group. */
export type MergedMethods<G extends readonly MethodGroup[]> = G extends readonly [
  infer Head,
  ...infer Rest extends readonly MethodGroup[],
]
  ? Head & MergedMethods<Rest>
  : unknown;

/**
 * One table of every group's methods. Two domains naming the same method would let one schema
 * silently shadow the other (and the type would demand both), so a duplicate throws as soon as
 * the contract loads.
 */
export function composeMethods<const G extends readonly MethodGroup[]>(
  ...groups: G
): MergedMethods<G> {
  const all: Record<string, z.ZodType> = {};
  for (const group of groups) {
    for (const [name, schema] of Object.entries(group)) {
      if (Object.prototype.hasOwnProperty.call(all, name)) {
        throw new Error(`Two contract domains declare the method ${name}`);
      }
      all[name] = schema;
    }
  }
  return all as MergedMethods<G>;
}
