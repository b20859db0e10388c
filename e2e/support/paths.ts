import os from 'node:os';
import path from 'node:path';

/** Shared by the config (browser's HOME, with the NSS database trusting the test CA) and the setup. */
export const E2E_DIR = path.join(os.tmpdir(), 'capsul-e2e');
export const E2E_HOME = path.join(E2E_DIR, 'home');
export const E2E_TLS = path.join(E2E_DIR, 'tls');
