/**
 * Runs at most `running` tasks at once and keeps up to `waiting` more in turn, first come first served; `full` says one
 * more would be turned away, and a task whose `signal` aborts while it waits leaves its turn (rejected with the
 * reason). For work that holds a scarce resource for a while: a password check is a quarter of a second of scrypt on
 * libuv's thread pool, which the write-ahead log's fsyncs and the embedded engine's statements share; a statement
 * holds one of the embedded engine's sessions (store/client.ts).
 */
export function fewAtOnce(running: number, waiting: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return {
    get full(): boolean {
      return active >= running && queue.length >= waiting;
    },
    async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      if (active < running) active++;
      else {
        await new Promise<void>((resolve, reject) => {
          const turn = () => {
            signal?.removeEventListener('abort', leave);
            resolve();
          };
          const leave = () => {
            queue.splice(queue.indexOf(turn), 1);
            reject(signal!.reason);
          };
          queue.push(turn);
          signal?.addEventListener('abort', leave, { once: true });
        });
      }
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
