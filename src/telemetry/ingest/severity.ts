// Severity of a log record that carries only its text.

/**
 * A record with no severity number but the usual text (Log4j, Logback, syslog, Python's logging) gets the number
 * the OpenTelemetry log data model maps that text to, so that severity filters and error rates see it.
 */
export function severityOfText(value: unknown): number {
  if (typeof value !== 'string') return 0;
  const levels: Readonly<Record<string, number>> = {
    TRACE: 1,
    DEBUG: 5,
    INFO: 9,
    INFORMATION: 9,
    NOTICE: 10,
    WARN: 13,
    WARNING: 13,
    ERROR: 17,
    ERR: 17,
    SEVERE: 17,
    CRITICAL: 18,
    ALERT: 19,
    EMERGENCY: 21,
    FATAL: 21,
  };
  return levels[value.trim().toUpperCase()] ?? 0;
}
