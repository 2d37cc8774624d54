import { parseArgs } from 'node:util';
import type { FirstAdmin } from './accounts.ts';
import { hashPassword, MIN_PASSWORD_LENGTH } from './passwords.ts';
import { newApiToken } from './tokens.ts';
import { apiTokenSchema, ROLES } from './users.ts';

/** `hearth hash-password`: reads a password (typed twice, hidden, on a terminal; else stdin) and prints its hash. */
export async function hashPasswordCommand(): Promise<number> {
  let password: string;
  if (process.stdin.isTTY) {
    const typed = await promptHidden('Password: ').catch(() => undefined);
    if (typed === undefined) return fail('cancelled');
    // Said before it is typed again.
    if (typed.length < MIN_PASSWORD_LENGTH) return fail(`a password needs at least ${MIN_PASSWORD_LENGTH} characters (got ${typed.length})`);
    if ((await promptHidden('Same password again: ').catch(() => undefined)) !== typed) return fail('the two passwords differ; nothing printed');
    password = typed;
  } else {
    // Piped in: `printf %s "$PASSWORD" | hearth hash-password`; one trailing newline (echo's) is not part of it.
    password = (await readAll(process.stdin)).replace(/\r?\n$/, '');
    // Two lines are no password the login form can send: the password typed twice, or a file of several.
    if (/[\r\n]/.test(password)) return fail('the password read from stdin holds a line break: give it on one line (printf %s "$PASSWORD" | hearth hash-password); nothing printed');
  }
  if (password.length < MIN_PASSWORD_LENGTH) return fail(`a password needs at least ${MIN_PASSWORD_LENGTH} characters (got ${password.length})`);
  const hash = await hashPassword(password);
  process.stdout.write(`${hash}\n`);
  process.stderr.write(`Put it in hearth.config.json's "users" (or HEARTH_USERS): { "name": "…", "role": "${ROLES.join('|')}", "passwordHash": "${hash}" }\n`);
  return 0;
}

/** `hearth new-token [--name NAME] [--role ROLE]`: a new API token and the hash to configure. */
export function newTokenCommand(args: string[]): number {
  const { values } = parseArgs({ args, options: { name: { type: 'string' }, role: { type: 'string' } }, strict: true });
  const given = { name: values.name ?? 'my-machine', role: values.role ?? 'marketing' };
  const entry = apiTokenSchema.pick({ name: true, role: true }).safeParse(given);
  if (!entry.success) {
    const option = (issue: { path: PropertyKey[] }) => String(issue.path[0]) as keyof typeof given;
    return fail(entry.error.issues.map((issue) => `--${option(issue)}: ${issue.message} (got ${JSON.stringify(given[option(issue)])})`).join('\n'));
  }
  const { token, tokenHash } = newApiToken();
  process.stdout.write(`token      ${token}\ntokenHash  ${tokenHash}\n`);
  process.stderr.write(
    `Give the token to the machine (Authorization: Bearer <token>); it is shown this once and stored nowhere.\n` +
      `Add its hash to hearth.config.json's "tokens" and restart; remove the entry to revoke it:\n` +
      `  { "name": "${entry.data.name}", "role": "${entry.data.role}", "tokenHash": "${tokenHash}" }\n`,
  );
  return 0;
}

/** What `hearth start` prints about logging in; the first-start password, clearly, on the one start that made it. */
export function loginLines(url: string, firstAdmin: FirstAdmin | undefined): string[] {
  const login = `  log in      ${url}/login`;
  if (!firstAdmin) return [login];
  if (!firstAdmin.password) return [`${login}  (as "${firstAdmin.user.name}", with the password printed by the first start)`];
  return [
    `${login}  as "${firstAdmin.user.name}", password: ${firstAdmin.password}`,
    `              (no user is configured, so this first start made one; its password is shown only this once, and only`,
    `              its hash is kept, in ${firstAdmin.file}. Configure users to replace it: docs/access.md)`,
  ];
}

function fail(message: string): number {
  process.stderr.write(`hearth: ${message}\n`);
  return 2;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let typed = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    /** Takes in what was typed; true once the entry is done (Enter) or cancelled. */
    const take = (text: string): boolean => {
      let offset = 0;
      for (const char of text) {
        offset += char.length;
        if (char === '\r' || char === '\n') {
          // A paste or a password manager types both entries at once: the rest is the next prompt's.
          typedAhead = text.slice(offset).replace(/^\n/, '');
          finish();
          resolve(typed);
          return true;
        }
        if (char === '\u0003' || char === '\u0004') {
          finish();
          reject(new Error('cancelled'));
          return true;
        }
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
      return false;
    };
    const onData = (chunk: Buffer) => void take(chunk.toString('utf8'));
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
    const ahead = typedAhead;
    typedAhead = '';
    take(ahead);
  });
}

/** What was typed after the Enter that ended an entry, for the next prompt. */
let typedAhead = '';
