// The embedded telemetry store's tables. Resources are a small dimension table; logs, spans and metric points
// reference it by id, so identity (service, namespace, component, environment, replica) is stored once.

export const schemaVersion = 1;

export const schemaStatements: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS store_info (key VARCHAR PRIMARY KEY, value VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS resources (
     id INTEGER PRIMARY KEY,
     fingerprint VARCHAR NOT NULL UNIQUE,
     service VARCHAR NOT NULL,
     namespace VARCHAR NOT NULL,
     project VARCHAR NOT NULL,
     component VARCHAR NOT NULL,
     environment VARCHAR NOT NULL,
     instance VARCHAR NOT NULL,
     attributes VARCHAR NOT NULL,
     first_seen TIMESTAMP NOT NULL
   )`,
  // template_key: the message with its variable parts masked, computed at ingest for WARN and above, so that
  // an error summary groups in SQL and mines only the distinct keys.
  `CREATE TABLE IF NOT EXISTS logs (
     ts TIMESTAMP NOT NULL,
     resource_id INTEGER NOT NULL,
     severity_number UTINYINT NOT NULL,
     severity_text VARCHAR,
     body VARCHAR NOT NULL,
     trace_id VARCHAR,
     span_id VARCHAR,
     attributes VARCHAR,
     scope VARCHAR,
     event_name VARCHAR,
     template_key VARCHAR
   )`,
  `CREATE TABLE IF NOT EXISTS spans (
     ts TIMESTAMP NOT NULL,
     end_ts TIMESTAMP NOT NULL,
     duration_us DOUBLE NOT NULL,
     resource_id INTEGER NOT NULL,
     trace_id VARCHAR NOT NULL,
     span_id VARCHAR NOT NULL,
     parent_span_id VARCHAR NOT NULL,
     name VARCHAR NOT NULL,
     kind UTINYINT NOT NULL,
     status_code UTINYINT NOT NULL,
     status_message VARCHAR,
     http_status SMALLINT,
     peer VARCHAR,
     attributes VARCHAR,
     events VARCHAR,
     scope VARCHAR
   )`,
  `CREATE TABLE IF NOT EXISTS metric_points (
     ts TIMESTAMP NOT NULL,
     start_ts TIMESTAMP,
     resource_id INTEGER NOT NULL,
     name VARCHAR NOT NULL,
     unit VARCHAR,
     type UTINYINT NOT NULL,
     temporality UTINYINT NOT NULL,
     monotonic BOOLEAN NOT NULL,
     value DOUBLE,
     count DOUBLE,
     min DOUBLE,
     max DOUBLE,
     bounds VARCHAR,
     bucket_counts VARCHAR,
     attributes VARCHAR,
     series VARCHAR NOT NULL
   )`,
];
