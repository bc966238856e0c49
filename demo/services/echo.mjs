// Demo service: echoes the request back (method, path, headers, body). Listens on $PORT.
import { createServer } from 'node:http';

const server = createServer((request, response) => {
  if (request.url === '/healthz') {
    response.writeHead(200).end('ok');
    return;
  }
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    console.log(`${request.method} ${request.url} (${body.length} bytes)`);
    response.setHeader('content-type', 'application/json');
    response.end(
      JSON.stringify({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body,
        replica: process.env.OPSPILOT_REPLICA,
      }),
    );
  });
});

server.listen(Number(process.env.PORT ?? 8081), '127.0.0.1', () => {
  console.log(`echo listening on ${process.env.PORT}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
