// What the seeded fuzz suites share: a small PRNG that gives the same sequence for the same seed everywhere, and
// values that break assumptions (wrong types, bounds, sizes, encodings, injection-shaped text).

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function prng(start: number): () => number {
  let state = start >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/** `{ nested: { nested: … 'bottom' } }`, `levels` deep. */
export function deep(levels: number): unknown {
  let value: unknown = 'bottom';
  for (let level = 0; level < levels; level += 1) value = { nested: value };
  return value;
}

/** Junk of every JSON type; `nesting` is how deep its deeply nested value goes. */
export function junkValues(nesting: number): readonly unknown[] {
  return [
    null,
    -5,
    -1,
    0,
    0.5,
    1e21,
    Number.MAX_SAFE_INTEGER,
    '',
    ' ',
    'x'.repeat(5000),
    '../../../etc/passwd',
    'a\u0000b',
    '<script>alert(1)</script>',
    '${jndi:ldap://127.0.0.1/x}',
    "'; DROP TABLE audit_events; --",
    '💥 ünïcødé',
    true,
    [],
    {},
    [1, 'two', null],
    deep(nesting),
    JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}'),
  ];
}
