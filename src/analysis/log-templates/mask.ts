// Masks the variable parts of a log message (numbers, ids, addresses, paths with digits) so that messages of one
// kind share one key. Pure and cheap: it runs at ingest for warnings and errors.

export const wildcard = '<*>';

/** Splits a message into tokens on whitespace. */
export function tokenize(message: string): string[] {
  return message.split(/\s+/).filter((token) => token !== '');
}

const hexOnly = /^(0x)?[0-9a-f]{6,}$/i;
const hasDigit = /\d/;

/** A token is a variable when it carries a digit (counts, ids, addresses, timestamps) or is a long hex string. */
export function isVariable(token: string): boolean {
  return hasDigit.test(token) || hexOnly.test(token);
}

/**
 * The message with every variable token replaced by `<*>`; inside a token, only the variable run is replaced
 * (`user=42` → `user=<*>`), so that the constant part still distinguishes templates.
 */
export function maskVariables(message: string): string {
  return tokenize(message).map(maskToken).join(' ');
}

const keyValue = /^([A-Za-z_][\w.-]*[:=])(.+)$/;

export function maskToken(token: string): string {
  if (!isVariable(token)) return token;
  const pair = keyValue.exec(token);
  if (pair?.[1] !== undefined && pair[2] !== undefined && !isVariable(pair[1]))
    return `${pair[1]}${wildcard}`;
  return wildcard;
}
