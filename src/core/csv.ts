// CSV per RFC 4180, one record per line (fields may be quoted; quoted fields do not span lines here, which is
// what the analyzers' inputs and outputs need). Pure.

/** Splits one CSV line into fields. Throws when a quoted field is not closed. */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let index = 0; index < line.length; index += 1) {
    const char = line.charAt(index);
    if (quoted) {
      if (char === '"' && line[index + 1] === '"') {
        current += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else current += char;
    } else if (char === '"' && current === '') quoted = true;
    else if (char === ',') {
      fields.push(current);
      current = '';
    } else current += char;
  }
  if (quoted) throw new Error('a quoted field is not closed');
  fields.push(current);
  return fields;
}

/** A field as CSV writes it: quoted when it holds a comma, a quote, a line break or leading/trailing space. */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(values: readonly (string | number)[]): string {
  return values.map(csvField).join(',');
}
