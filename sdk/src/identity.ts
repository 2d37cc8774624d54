/** A random RFC 4122 v4 UUID; getRandomValues works on plain-http pages, where crypto.randomUUID does not exist. */
export function uuid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 15) | 64;
  bytes[8] = (bytes[8]! & 63) | 128;
  let out = '';
  for (let i = 0; i < 16; i++) out += (i == 4 || i == 6 || i == 8 || i == 10 ? '-' : '') + (bytes[i]! + 256).toString(16).slice(1);
  return out;
}

const VISITOR_KEY = 'hearth_vid';
const SESSION_KEY = 'hearth_sid';
const SESSION_IDLE_MS = 30 * 60_000;

/** The first-party visitor id, kept in localStorage; a page that blocks storage still gets an id for its lifetime. */
export function visitorId(storage: Storage | undefined): string {
  try {
    let id = storage!.getItem(VISITOR_KEY);
    if (!id) storage!.setItem(VISITOR_KEY, (id = uuid()));
    return id;
  } catch {
    return uuid();
  }
}

/** The session id: kept while the visitor comes back within 30 minutes, renewed after that. */
export function sessionId(storage: Storage | undefined, now: number): string {
  try {
    const [id, last] = (storage!.getItem(SESSION_KEY) || '').split('.');
    const current = id && now - Number(last) < SESSION_IDLE_MS ? id : uuid();
    storage!.setItem(SESSION_KEY, current + '.' + now);
    return current;
  } catch {
    return uuid();
  }
}
