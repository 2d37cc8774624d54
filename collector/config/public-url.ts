import type { HearthConfig } from './schema.ts';

/**
 * The address a browser on this machine opens for a server listening at `address`: listening on every address, the
 * listen address (http://[::]:8787, http://0.0.0.0:8787) opens nothing in a browser; IPv6's loopback is named as people
 * name it, localhost.
 */
export const browsableUrl = (address: string): string => address.replace(/^(https?:\/\/)(\[::1?\]|0\.0\.0\.0)(?=:|\/|$)/, '$1localhost');

/**
 * Where people and pages reach Hearth, without a trailing slash: its `dashboardUrl` (a reverse proxy's address), else
 * where it listens, as a browser here opens it. What `hearth start` prints and what alerts link to.
 */
export const publicUrl = (config: Pick<HearthConfig, 'dashboardUrl'>, listening: string): string => config.dashboardUrl?.replace(/\/+$/, '') ?? browsableUrl(listening);
