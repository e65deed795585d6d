// How Nuxt/Nitro apps stream server-sent events today, as a peer for bench/compare.sh:
// an h3 app whose route handler opens createEventStream() per client, fed by one shared
// ioredis subscriber (PSUBSCRIBE bench:*) that hands each Redis message to the streams of
// its channel. No history and no ids: a client that reconnects gets only new messages.
//
// Usage: node server.mjs PORT REDIS_PORT [--no-hello]
//   GET /bench/<c>/stream subscribes to Redis channel bench:<c>; publish with
//   PUBLISH bench:<c> <payload> (sluice-bench --publish redis).
//   h3 sends no response headers until the stream's first write, so by default each stream
//   starts with one "hello" event (retry: 2000, data {"type":"hello"}); --no-hello leaves
//   the bare pattern, whose clients see nothing until the first published message.
import { createServer } from "node:http";
import { createApp, createRouter, createEventStream, eventHandler, toNodeListener } from "h3";
import Redis from "ioredis";

const port = Number(process.argv[2] ?? 3000);
const redisPort = Number(process.argv[3] ?? 6379);
const hello = !process.argv.includes("--no-hello");

const streams = new Map(); // channel -> Set<EventStream>

const subscriber = new Redis({ host: "127.0.0.1", port: redisPort, lazyConnect: false });
subscriber.psubscribe("bench:*");
subscriber.on("pmessage", (_pattern, channel, message) => {
  const set = streams.get(channel);
  if (!set) return;
  for (const stream of set) stream.push(message);
});

const router = createRouter();
router.get(
  "/bench/:c/stream",
  eventHandler((event) => {
    const channel = `bench:${event.context.params.c}`;
    const stream = createEventStream(event);
    let set = streams.get(channel);
    if (!set) streams.set(channel, (set = new Set()));
    set.add(stream);
    stream.onClosed(async () => {
      set.delete(stream);
      if (set.size === 0 && streams.get(channel) === set) streams.delete(channel);
      await stream.close();
    });
    if (hello) stream.push({ retry: 2000, data: '{"type":"hello"}' });
    return stream.send();
  }),
);

const app = createApp();
app.use(router);
const server = createServer(toNodeListener(app));
server.keepAliveTimeout = 120_000;
server.listen(port, "127.0.0.1", 4096, () => {
  console.log(`h3 peer on 127.0.0.1:${port}, redis 127.0.0.1:${redisPort}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    server.close();
    subscriber.disconnect();
    process.exit(0);
  });
}
