import { readConfig } from './config.ts';
import { sessionId, visitorId } from './identity.ts';
import { trackPageviews } from './pageviews.ts';
import { createTransport, type Transport } from './transport.ts';

type Command = [name: string, ...args: unknown[]];
type Hearth = ((...command: Command) => void) & { q?: Command[] };

/** Runs one `hearth(...)` call; a bad call is ignored rather than thrown into the page. */
function run(transport: Transport, [name, a, b]: Command) {
  if (name == 'track' && typeof a == 'string') transport.push('track', { k: a, p: b as Record<string, unknown> });
  if (name == 'identify' && typeof a == 'string') transport.push('identify', { em: a, p: b as Record<string, unknown> });
}

try {
  const config = readConfig(document);
  if (config) {
    let storage: Storage | undefined;
    try {
      storage = localStorage;
    } catch {}
    const transport = createTransport(config.endpoint, config.site, visitorId(storage), () => sessionId(storage, Date.now()));
    const queued = ((window as unknown as { hearth?: Hearth }).hearth || {}).q || [];
    const hearth: Hearth = (...command) => {
      try {
        run(transport, command);
      } catch {}
    };
    (window as unknown as { hearth: Hearth }).hearth = hearth;
    trackPageviews(transport);
    queued.forEach((command) => hearth(...command));
  }
} catch {}
