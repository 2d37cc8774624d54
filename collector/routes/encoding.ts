import Negotiator from 'negotiator';

export type ContentCoding = 'br' | 'gzip' | 'identity';

// negotiator ≥ 1 breaks a tie in q-values by the server's `preferred` order; @types/negotiator (0.6) lacks the option.
type EncodingWithPreference = (available: ContentCoding[], options: { preferred: ContentCoding[] }) => ContentCoding | undefined;
const CODINGS: ContentCoding[] = ['br', 'gzip', 'identity'];

/**
 * The coding to send by the request's Accept-Encoding, with q-values (`br;q=0` refuses brotli), `*` (any coding not
 * named) and identity weighed as RFC 9110 says, by negotiator (the parser Express uses). Among codings the client
 * accepts equally, brotli first: it is the smaller. Identity when nothing acceptable is left: the page must load.
 */
export function preferredEncoding(request: { headers: Negotiator.Headers }): ContentCoding {
  const negotiator = new Negotiator(request);
  return (negotiator.encoding as EncodingWithPreference).call(negotiator, CODINGS, { preferred: CODINGS }) ?? 'identity';
}
