import { respectDnt } from './config.ts';
import { load } from './identity.ts';

// Undecided: events wait in memory and nothing is stored. Granted: events flow. Denied: nothing is kept or sent.
// Plain numbers rather than an enum: they inline to one character each in the built snippet.
export type Consent = 0 | 1 | 2;
export const UNDECIDED = 0;
export const GRANTED = 1;
export const DENIED = 2;

/** Global Privacy Control is not in TypeScript's DOM types yet. */
type PrivacyNavigator = Navigator & { globalPrivacyControl?: boolean };

/**
 * Truthy when this browser opted out: `localStorage.hearth_ignore`, or Global Privacy Control / Do-Not-Track (a
 * doNotTrack of "1" is 1; "0", "unspecified" and null are 0 or NaN).
 */
export function optedOut(): unknown {
  return load('hearth_ignore') || (respectDnt && ((navigator as PrivacyNavigator).globalPrivacyControl || +navigator.doNotTrack!));
}
