// After tsc: the CLI entries must be executable (tsc does not keep file modes).
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
chmodSync(new URL('../dist/cli/stackhog.cjs', import.meta.url), 0o755);
