import { describe, expect, it } from 'vitest';
import { emptyBatch } from '../model.js';
import { decodeJson } from './otlp-json.js';
import { ResourceIdentities } from './resource-identity.js';
import { severityOfText } from './severity.js';

describe('severity of a record that carries only its text', () => {
  it('maps the usual level names as the log data model does, and leaves others unspecified', () => {
    expect(severityOfText('ERROR')).toBe(17);
    expect(severityOfText(' warning ')).toBe(13);
    expect(severityOfText('Info')).toBe(9);
    expect(severityOfText('FATAL')).toBe(21);
    expect(severityOfText('loud')).toBe(0);
    expect(severityOfText(undefined)).toBe(0);
  });

  it('is what an OTLP/JSON record without severityNumber gets, while a given number wins', () => {
    const batch = emptyBatch();
    const record = (extra: Record<string, unknown>) => ({
      timeUnixNano: '1675079459971622667',
      body: { stringValue: 'boom' },
      ...extra,
    });
    decodeJson(
      'logs',
      {
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ts-basic-service' } }] },
            scopeLogs: [
              {
                logRecords: [
                  record({ severityText: 'ERROR' }),
                  record({ severityText: 'ERROR', severityNumber: 9 }),
                ],
              },
            ],
          },
        ],
      },
      new ResourceIdentities(),
      batch,
    );
    expect(batch.logs.map((log) => log.severityNumber)).toEqual([17, 9]);
  });
});
