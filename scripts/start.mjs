// `npm start`: compile when dist/ is missing or older than the sources (and build the dashboard likewise), then
// run `opspilot up --demo`
// in this same process (so that Ctrl-C reaches exactly one opspilot). Extra arguments pass through:
//   npm start -- --port 7500
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist', 'cli', 'main.js');

function newest(path) {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function builtAt() {
  try {
    return statSync(entry).mtimeMs;
  } catch {
    return 0;
  }
}

const sources = Math.max(
  newest(join(root, 'src')),
  newest(join(root, 'package.json')),
  newest(join(root, 'tsconfig.json')),
);
if (builtAt() < sources) {
  process.stderr.write('opspilot: compiling (npm run build)…\n');
  execFileSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}

// The dashboard (web/ → dist/web), when missing or older than its sources.
function webBuiltAt() {
  try {
    return statSync(join(root, 'dist', 'web', 'index.html')).mtimeMs;
  } catch {
    return 0;
  }
}
if (webBuiltAt() < Math.max(newest(join(root, 'web')), newest(join(root, 'package.json')))) {
  process.stderr.write('opspilot: building the dashboard (vite build)…\n');
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      'web/vite.config.ts',
      '--logLevel',
      'warn',
    ],
    { cwd: root, stdio: 'inherit' },
  );
}

// npm runs this script under `sh -c`, and neither passes every signal on: a SIGTERM or SIGINT sent to npm ends npm
// and the shell and would leave this process — the server and every replica — running, orphaned. When the process
// that started us goes away, stop as on SIGTERM (`opspilot up` stops every replica, then exits).
const parent = process.ppid;
const orphaned = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(orphaned);
  process.stderr.write('opspilot: npm went away; stopping\n');
  process.kill(process.pid, 'SIGTERM');
}, 250);
orphaned.unref();

process.argv = [process.argv[0] ?? 'node', entry, 'up', '--demo', ...process.argv.slice(2)];
await import(entry);
