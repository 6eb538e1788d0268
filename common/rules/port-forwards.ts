/**
 * A port forward listens on the host. On a loopback address only this computer reaches it; on any
 * other (0.0.0.0 above all) every computer on the network does, so that takes an explicit yes:
 * `public: true` (the CLI's --public, the Settings checkbox).
 */

/** Whether a host address is loopback: 127.0.0.0/8, ::1 or 'localhost'. */
export function isLoopbackAddress(address: string): boolean {
  const a = address
    .trim()
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  if (a === 'localhost' || a === '::1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/** The message for a non-loopback forward without the explicit yes. */
export function publicForwardMessage(address: string): string {
  return (
    `A forward on ${address} listens on every network, not just this computer: ` +
    'pass --public (CLI) or confirm in Settings'
  );
}

/** Why a forward may not be used as asked, or null. */
export function forwardExposureProblem(f: {
  hostAddress: string;
  public?: boolean;
}): string | null {
  return f.public === true || isLoopbackAddress(f.hostAddress)
    ? null
    : publicForwardMessage(f.hostAddress);
}
