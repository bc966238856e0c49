// Where the installed package lives and its version (the same from src/ and dist/: two levels up).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const packageRoot: string = fileURLToPath(new URL('../../', import.meta.url));

export const version: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
