// BullMQ beside bench/queue.py: N no-op jobs enqueued one by one, then consumed by one Worker with
// the given concurrency; the time covers both, as for the Python queues. Prints one JSON line.
// usage: node bullmq_bench.js REDIS_PORT [JOBS=10000] [CONCURRENCY=16]   (Redis on 127.0.0.1)
const { Queue, Worker } = require("bullmq");
const [port, jobs, concurrency] = [+process.argv[2], +(process.argv[3] || 10000), +(process.argv[4] || 16)];
const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };
(async () => {
  const name = "bench-" + Date.now();
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < jobs; i++) {
    await queue.add("noop", {}, { removeOnComplete: true, removeOnFail: true });
  }
  const enqueued = process.hrtime.bigint();
  let done = 0, failed = 0;
  await new Promise((resolve) => {
    const worker = new Worker(name, async () => null, { connection, concurrency, autorun: false });
    worker.on("completed", () => { if (++done + failed === jobs) resolve(worker); });
    worker.on("failed", () => { if (done + ++failed === jobs) resolve(worker); });
    worker.run();
  }).then((worker) => worker.close());
  const t1 = process.hrtime.bigint();
  const seconds = Number(t1 - t0) / 1e9;
  console.log(JSON.stringify({ jobs, concurrency, done, failed, seconds: +seconds.toFixed(3),
    enqueue_seconds: +(Number(enqueued - t0) / 1e9).toFixed(3), jobs_per_s: Math.round(jobs / seconds) }));
  await queue.obliterate({ force: true });
  await queue.close();
  process.exit(0);
})().catch((e) => { console.error("bullmq error", e && (e.stack || e.message || e)); process.exit(1); });
