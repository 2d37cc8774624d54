import { respectDnt } from './config.ts';
import { load } from './identity.ts';

// Undecided: events wait in memory and nothing is stored. Granted: events flow. Denied: nothing is kept or sent.
// Plain numbers rather than an enum: they inline to one character each in the built snippet.
export type Consent = 0 | 1 | 2;
export const UNDECIDED = 0;
export const GRANTED = 1;
export const DENIED = 2;

/** Truthy when this browser opted out: `localStorage.hearth_ignore`, or Global Privacy Control / Do-Not-Track. */
export function optedOut(): unknown {
  const nav = navigator as Navigator & { globalPrivacyControl?: boolean };
  return load('hearth_ignore') || (respectDnt && (nav.globalPrivacyControl || nav.doNotTrack == '1'));
}
