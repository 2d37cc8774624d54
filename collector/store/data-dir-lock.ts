import { mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/load.ts';

/** The file that says which process holds a data directory: its pid. */
export const LOCK_FILE = 'collector.pid';

/**
 * One collector per data directory. The write-ahead log is the collector's own: a second collector on the same
 * directory drains it and deletes segments the first is still writing, so events it acknowledged are lost (the
 * embedded engine refuses a second process by itself; over HTTP nothing did). The directory is taken with a file
 * holding the pid; one left by a process that is gone (a crash, kill -9) is taken over. Returns the release.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const mine = `${process.pid}\n`;
  try {
    const fd = openSync(path, 'wx');
    try {
      writeSync(fd, mine);
    } catch (err) {
      // Not left empty: the next start would read no pid in it, and fail the same way writing its own.
      closeSync(fd);
      unlinkSync(path);
      throw err;
    }
    closeSync(fd);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw noRoom(dataDir);
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
    if (holder !== process.pid && isHearth(holder)) {
      throw new ConfigError(
        `HEARTH_DATA_DIR ${dataDir} is in use by another Hearth process (pid ${holder}): each collector needs a data directory of its own, which holds its write-ahead log`,
      );
    }
    try {
      writeFileSync(path, mine);
    } catch (err) {
      throw (err as NodeJS.ErrnoException).code === 'ENOSPC' ? noRoom(dataDir) : err;
    }
  }
  return () => {
    try {
      if (readFileSync(path, 'utf8') === mine) unlinkSync(path);
    } catch {
      // Gone already.
    }
  };
}

/** The disk of the data directory has not a block left for the lock's pid. */
const noRoom = (dataDir: string) =>
  Object.assign(
    new Error(
      `the disk of HEARTH_DATA_DIR ${dataDir} is full: no room left to write ${LOCK_FILE} (ENOSPC). Free a little space and start again: the write-ahead log then gives back the room of what ClickHouse takes`,
    ),
    { code: 'ENOSPC' },
  );

/**
 * Whether a process runs with this pid, and is Hearth's: after a crash and a restart (a container's), the pid in the
 * file may be another program's by now. Where /proc cannot say, a living pid is taken for Hearth's.
 */
function isHearth(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it lives, under another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('hearth');
  } catch {
    return true;
  }
}
