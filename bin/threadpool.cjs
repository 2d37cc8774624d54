// libuv's thread pool runs the file system's calls (the write-ahead log's fdatasync before every 202 among them) and
// every statement of the embedded ClickHouse engine, each for its whole run: up to 4 queries side by side
// (MAX_SESSIONS in collector/store/client.ts) and the inserts. With the pool's 4 threads, a dashboard loading during
// a rescoring took them all, and a beacon's 202 waited for a query to end (up to 0.8 s measured, against 0.2 s with
// 16 threads). The size is read once, when the pool starts: before any module is loaded as ES module, whose loading
// starts it. Hence this file, CommonJS, required first. An operator's own UV_THREADPOOL_SIZE wins.
process.env.UV_THREADPOOL_SIZE ||= '16';
