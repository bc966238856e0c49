// Demo worker: no port; logs a heartbeat with its memory use every few seconds.
const intervalMs = Number(process.env.INTERVAL_MS ?? 5000);
let beats = 0;

const timer = setInterval(() => {
  beats += 1;
  const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
  console.log(`heartbeat ${beats} from ${process.env.OPSPILOT_REPLICA ?? 'local'} (rss ${rss}Mi)`);
}, intervalMs);

process.on('SIGTERM', () => {
  clearInterval(timer);
  console.log('heartbeat stopping');
  process.exit(0);
});
