// History as CSV (RFC 4180): fields with a comma, quote or line break are quoted, quotes doubled.
// A leading =, +, - or @ is prefixed with ' so a spreadsheet never runs it as a formula.
export function csvField(v: string | number | undefined): string {
  let s = v === undefined ? '' : String(v)
  if (/^[=+\-@]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

export function toCsv(
  header: readonly string[],
  rows: readonly (readonly (string | number | undefined)[])[],
): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n'
}
