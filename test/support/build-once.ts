import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Jest global set-up of the e2e tests: builds `dist/` once, because the
 * process tests run the built entry points as a container would.
 */
export default function buildOnce(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: join(__dirname, '..', '..'), stdio: 'inherit' });
}
