/** A half-open interval of epoch milliseconds, `[start, end)`; open ends are ±Infinity. */
export interface DateRange {
  readonly start: number;
  readonly end: number;
}

// R4 dateTime (§2.24.0.1) with the search relaxations of §3.1.1.4.2: minutes without seconds.
const DATE_TIME =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

const MS_PER_MINUTE = 60_000;

/**
 * Parses a FHIR date, dateTime or instant into the implicit range its precision denotes
 * (R4 §3.1.1.4.2: "2013-01" means the whole of January 2013). Returns undefined for anything that
 * is not a real calendar instant (`2023-02-30`, hour 24, offset +15:00). A time without an offset is
 * read as UTC: the spec leaves it to the server, and a vault has no meaningful local zone.
 */
export function parseDateRange(value: string): DateRange | undefined {
  const match = DATE_TIME.exec(value);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const year = Number(y);
  const month = mo === undefined ? 1 : Number(mo);
  const day = d === undefined ? 1 : Number(d);
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== 'Z') {
    const zoneHours = Number(zone.slice(1, 3));
    const zoneMinutes = Number(zone.slice(4, 6));
    if (zoneHours > 14 || zoneMinutes > 59) return undefined;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (zoneHours * 60 + zoneMinutes);
  }
  const millis = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
  const local = utc(year, month - 1, day, hour, minute, second, millis);
  const start = local - offsetMinutes * MS_PER_MINUTE;
  let end: number;
  if (mo === undefined) end = utc(year + 1, 0, 1, 0, 0, 0, 0);
  else if (d === undefined) end = utc(year, month, 1, 0, 0, 0, 0);
  else if (h === undefined) end = utc(year, month - 1, day + 1, 0, 0, 0, 0);
  else if (s === undefined) end = local + MS_PER_MINUTE;
  else if (fraction === undefined) end = local + 1000;
  else end = local + Math.max(1, 10 ** (3 - Math.min(fraction.length, 3)));
  return { start, end: end - offsetMinutes * MS_PER_MINUTE };
}

function daysInMonth(year: number, month: number): number {
  return new Date(utc(year, month, 0, 0, 0, 0, 0)).getUTCDate();
}

/** Date.UTC maps years 0–99 to 1900–1999; FHIR years 0001–0099 are real years. */
function utc(year: number, month: number, day: number, h: number, mi: number, s: number, ms: number): number {
  const date = new Date(Date.UTC(2000, 0, 1, h, mi, s, ms));
  date.setUTCFullYear(year, month, day);
  return date.getTime();
}
