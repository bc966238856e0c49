// The JSON body parser of the API and the MCP endpoints: Fastify's own (prototype poisoning refused), after a
// nesting check. Parsers, validators and digests behind it recurse, so a body of a million `[` would exhaust
// the stack and answer 500; it is refused with 400 before it is parsed.
import type { FastifyInstance } from 'fastify';
import { InvalidError } from '../core/errors.js';

/** Deepest nesting of arrays and objects a JSON body may have (opspilot's own bodies need about ten). */
export const maxJsonDepth = 64;

/** Whether the JSON `text` nests arrays and objects deeper than `limit` (brackets inside strings do not count). */
export function jsonNestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === backslash) index += 1;
      else if (char === quote) inString = false;
    } else if (char === quote) {
      inString = true;
    } else if (char === openBracket || char === openBrace) {
      depth += 1;
      if (depth > limit) return true;
    } else if (char === closeBracket || char === closeBrace) {
      depth -= 1;
    }
  }
  return false;
}

const backslash = 0x5c;
const quote = 0x22;
const openBracket = 0x5b;
const closeBracket = 0x5d;
const openBrace = 0x7b;
const closeBrace = 0x7d;

/** The refusal of a body nested too deep (a 400 problem on REST; the MCP routes answer it as JSON-RPC). */
export function tooDeep(limit: number): InvalidError {
  return new InvalidError(`the JSON body is nested more than ${limit} levels deep`, [], {
    hint: `Send a flatter body: arrays and objects may nest at most ${limit} levels.`,
  });
}

/** Replaces the `application/json` parser with one that checks the nesting first. */
export function installJsonDepthLimit(app: FastifyInstance, limit = maxJsonDepth): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonNestsDeeperThan(body as string, limit)) {
      done(tooDeep(limit), undefined);
      return;
    }
    void parse(request, body as string, done);
  });
}
