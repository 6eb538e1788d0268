/**
 * VM names are free text that people read: in the library, in window titles, in `vivarium list`.
 * Invisible and direction-changing characters (Unicode format characters: zero-width spaces, bidi
 * overrides like U+202E) let one name pass for another (`a\u200bb` beside `ab`,
 * `invoice\u202egpj.exe`), so they are refused; names are kept in NFC so that one spelling is one
 * name, and two names are the same when their NFC lower-case forms are.
 */

/** Why a (trimmed) name's characters are refused, or null. */
export function nameCharactersProblem(name: string): string | null {
  if (/\p{Cc}/u.test(name)) return 'The name cannot contain control characters';
  if (/\p{Cf}/u.test(name)) {
    return (
      'The name cannot contain invisible or text-direction characters ' +
      '(zero-width spaces, right-to-left overrides): type it again without them'
    );
  }
  return null;
}

/** The form two names are compared in: NFC, lower case (so "Dev" and "dev" are one name). */
export function nameKey(name: string): string {
  return name.trim().normalize('NFC').toLocaleLowerCase();
}
