import { config } from 'zod';

// The page's CSP forbids eval: zod must not probe for it (the probe logs a CSP violation). This
// runs before the contract's schemas are built: the app's root imports it first, and so does
// lib/schemas.ts for code that is loaded on its own.
config({ jitless: true });
