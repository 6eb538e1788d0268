import { config } from 'zod';

// The page's CSP forbids eval: zod must not probe for it (the probe logs a CSP violation). This
// runs before the contract's schemas are built (lib/schemas.ts imports it first).
config({ jitless: true });
