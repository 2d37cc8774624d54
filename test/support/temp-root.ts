import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Vitest's global setup: every temporary file of the run (data directories, config files, the engine's and the
 * browser's own scratch files) goes under one directory, removed when the run ends. A test file's own clean-up
 * cannot be relied on: its worker process is stopped without running `exit` handlers.
 */
export default function setup(): (() => void) | undefined {
  // Each project of the run calls this; the first makes the directory. Kept short: Chromium puts a socket in it,
  // and a socket's path has at most 107 characters.
  if (process.env.HEARTH_TESTS_TMPDIR) return undefined;
  const root = mkdtempSync(join(tmpdir(), 'hearth-tests-'));
  process.env.HEARTH_TESTS_TMPDIR = root;
  // Worker processes and the processes they spawn inherit it; os.tmpdir() reads it at every call.
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
