import Bowser from 'bowser';
import { isbot } from 'isbot';
import { LRUCache } from 'lru-cache';

export type DeviceType = 'desktop' | 'mobile' | 'tablet' | 'bot' | '';

/** What a User-Agent header says about the sender, as stored in the events table. '' where it says nothing. */
export interface UserAgentFacts {
  browser: string;
  os: string;
  device: DeviceType;
  /** A crawler, monitor or HTTP tool by isbot's list; its events are kept, flagged. */
  bot: boolean;
}

export const UNKNOWN_USER_AGENT: UserAgentFacts = Object.freeze({ browser: '', os: '', device: '', bot: false });

/**
 * A request with no User-Agent, or an empty one: every browser sends one, so this is a script (Node's own http sends
 * none), flagged as curl and Node are. Unflagged, a loop of such posts made leads and alerts as a visitor would.
 */
const NO_USER_AGENT: UserAgentFacts = Object.freeze({ browser: '', os: '', device: 'bot', bot: true });

// Real User-Agents are a few hundred characters; parsing a forged 16 KB one would cost time for nothing.
const MAX_USER_AGENT_LENGTH = 512;
const DEVICES = new Set<DeviceType>(['desktop', 'mobile', 'tablet', 'bot']);

// A visitor's beacons repeat one User-Agent, and a site's visitors share a few hundred; bounded so forged ones cannot grow it.
const described = new LRUCache<string, UserAgentFacts>({ max: 2000 });

function parse(userAgent: string): UserAgentFacts {
  const { browser, os, platform } = Bowser.parse(userAgent);
  const bot = isbot(userAgent);
  const platformType = platform.type as DeviceType | undefined;
  return {
    browser: browser.name ?? '',
    os: os.name ?? '',
    device: bot ? 'bot' : platformType && DEVICES.has(platformType) ? platformType : '',
    bot: bot || platformType === 'bot',
  };
}

/** Browser, OS, device type and bot flag of a request's User-Agent, parsed once per distinct header. */
export function describeUserAgent(header: string | undefined): UserAgentFacts {
  const userAgent = header?.slice(0, MAX_USER_AGENT_LENGTH).trim();
  if (!userAgent) return NO_USER_AGENT;
  let facts = described.get(userAgent);
  if (!facts) {
    facts = parse(userAgent);
    described.set(userAgent, facts);
  }
  return facts;
}
