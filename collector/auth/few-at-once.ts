/**
 * Runs at most `running` tasks at once and keeps up to `waiting` more in turn; `full` says one more would be turned
 * away. For work that holds a scarce resource for a while: a password check is a quarter of a second of scrypt on
 * libuv's thread pool, which the write-ahead log's fsyncs and the embedded engine's statements share.
 */
export function fewAtOnce(running: number, waiting: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return {
    get full(): boolean {
      return active >= running && queue.length >= waiting;
    },
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (active >= running) await new Promise<void>((resolve) => queue.push(resolve));
      else active++;
      try {
        return await task();
      } finally {
        // Handed on to the next in turn, the count unchanged; else one fewer.
        const next = queue.shift();
        if (next) next();
        else active--;
      }
    },
  };
}
