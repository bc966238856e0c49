// Error log templates from log records in hand (the offline `analyze rca`, which has no telemetry store to ask):
// the error records (severity ERROR or worse) of every service are mined into templates with the same miner as
// the store's error summary, each with its per-bucket trend, its services, samples and traces. Pure.
import { groupMessages } from '../log-templates/group-messages.js';
import type { TemplateTrend } from './error-templates.js';

export interface ErrorLogRecord {
  readonly service: string;
  readonly timeUs: number;
  readonly severityNumber: number;
  readonly body: string;
  readonly traceId: string;
}

const errorSeverity = 17;
const samplesPerTemplate = 3;

/** Templates of the error records, with their trend in buckets of `bucketUs` from `fromUs`. */
export function errorTemplatesOf(
  records: readonly ErrorLogRecord[],
  fromUs: number,
  bucketUs: number,
): TemplateTrend[] {
  const errors = records
    .filter((record) => record.severityNumber >= errorSeverity && record.body !== '')
    .sort((a, b) => a.timeUs - b.timeUs);
  if (errors.length === 0) return [];
  const { groups, templates } = groupMessages(errors.map((record) => record.body));
  const byGroup = new Map<number, ErrorLogRecord[]>();
  errors.forEach((record, index) => {
    const group = groups[index] ?? 0;
    const members = byGroup.get(group);
    if (members === undefined) byGroup.set(group, [record]);
    else members.push(record);
  });
  const out: TemplateTrend[] = [];
  for (const [group, members] of byGroup) {
    const buckets = new Map<number, number>();
    for (const record of members) {
      const bucket = fromUs + Math.floor((record.timeUs - fromUs) / bucketUs) * bucketUs;
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
    }
    out.push({
      template: templates[group] ?? '',
      components: [...new Set(members.map((record) => record.service))].sort(),
      firstEverSeenUs: members[0]?.timeUs ?? fromUs,
      trend: [...buckets].sort((a, b) => a[0] - b[0]),
      samples: members.slice(-samplesPerTemplate).map((record) => record.body),
      traceIds: [...new Set(members.map((record) => record.traceId).filter((id) => id !== ''))].slice(
        -samplesPerTemplate,
      ),
    });
  }
  return out;
}
