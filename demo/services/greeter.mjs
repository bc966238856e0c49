// Demo service: answers greetings over HTTP. Listens on $PORT, health at /healthz.
import { createServer } from 'node:http';

const greeting = process.env.GREETING ?? 'hello';
const replica = process.env.OPSPILOT_REPLICA ?? 'local';
let served = 0;

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (url.pathname === '/healthz') {
    response.writeHead(200).end('ok');
    return;
  }
  served += 1;
  const name = url.searchParams.get('name') ?? 'world';
  console.log(`greeted ${name} (request ${served})`);
  response.setHeader('content-type', 'application/json');
  response.end(
    JSON.stringify({ message: `${greeting}, ${name}!`, replica, release: process.env.OPSPILOT_RELEASE }),
  );
});

server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`greeter listening on ${process.env.PORT}`);
});

process.on('SIGTERM', () => {
  console.log('draining and shutting down');
  server.close(() => process.exit(0));
});
