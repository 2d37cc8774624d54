import { consentRequired, readConfig } from './config.ts';
import { DENIED, GRANTED, optedOut, UNDECIDED } from './consent.ts';
import { trackDownloads } from './downloads.ts';
import { trackDwell } from './dwell.ts';
import { trackForms } from './forms.ts';
import { readIdentity } from './identity.ts';
import { trackPageviews } from './pageviews.ts';
import { push, setConsent, startTransport } from './transport.ts';

type Command = [name: string, ...args: unknown[]];
type Hearth = ((...command: Command) => void) & { q?: Command[]; h?: 1 };
declare global {
  interface Window {
    hearth?: Hearth;
  }
}

/**
 * One `hearth(...)` call; a bad one is ignored rather than thrown into the page. Properties that cannot be sent
 * (a cycle, a BigInt) are refused here, not when their batch is sent: that would lose the whole batch.
 */
function run(name: string, a: unknown, b?: unknown) {
  try {
    const key = name == 'track' ? 'k' : name == 'identify' && 'em';
    if (name == 'consent') setConsent(a == 'granted' ? GRANTED : DENIED);
    else if (key && typeof a == 'string' && JSON.stringify([b])) push(name[0]!, { [key]: a, p: b as Record<string, unknown> });
  } catch {}
}
(run as Hearth).h = 1;

try {
  // An opted-out browser (hearth_ignore, Global Privacy Control, Do-Not-Track) runs nothing at all, nor a second
  // copy of the snippet on the same page (a tag manager and a hard-coded tag): every event would count twice.
  if (!window.hearth?.h && readConfig() && !optedOut()) {
    const queued = window.hearth?.q || [];
    window.hearth = run as Hearth;
    readIdentity();
    // With data-consent="required" the site's consent manager calls hearth('consent', …) on every page.
    startTransport(consentRequired ? UNDECIDED : GRANTED);
    trackPageviews(trackDwell());
    trackDownloads();
    trackForms();
    for (const command of queued) run(...(command as Parameters<typeof run>));
  }
} catch {}
