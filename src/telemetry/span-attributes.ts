// What a span's attributes say about the call it records, under current and older semantic conventions.
import type { Attributes } from './model.js';

/** http.response.status_code (current semantic conventions) or http.status_code (older ones). */
export function httpStatus(attributes: Attributes): number | undefined {
  const value = attributes['http.response.status_code'] ?? attributes['http.status_code'];
  const status = typeof value === 'string' ? Number(value) : value;
  return typeof status === 'number' && Number.isInteger(status) && status >= 0 && status < 1000
    ? status
    : undefined;
}

/** The remote side a client span talks to: peer.service, else server.address[:port], else db.system. */
export function peerOf(attributes: Attributes): string {
  const peer = attributes['peer.service'];
  if (typeof peer === 'string' && peer !== '') return peer;
  const address = attributes['server.address'] ?? attributes['net.peer.name'];
  const port = attributes['server.port'] ?? attributes['net.peer.port'];
  if (typeof address === 'string' && address !== '') {
    return typeof port === 'number' || typeof port === 'string' ? `${address}:${port}` : address;
  }
  const system = attributes['db.system.name'] ?? attributes['db.system'];
  return typeof system === 'string' ? system : '';
}
