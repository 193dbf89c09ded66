/**
 * A row owner as every message, page and report shows it: NULL (a row without an owner) bare, an
 * ordinary id (letters, digits, `_ . - < >`) as it is, anything else quoted as JSON — so that no
 * two owners look alike (NULL and the string "NULL" or "<null>", "a b" and "a", "" and NULL).
 */
export function ownerLabel(owner: string | null): string {
  if (owner === null) return 'NULL';
  return owner !== 'NULL' && /^[A-Za-z0-9_.<>-]+$/.test(owner) ? owner : JSON.stringify(owner);
}
