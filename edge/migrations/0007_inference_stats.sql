-- Inference metrics of the /v2 infer routes, for /metrics. Workers isolates are many and
-- short-lived, so each request adds to these counters in D1 (after answering) instead of
-- keeping them in memory, and /metrics reads the whole fleet's totals. Append-only, like every
-- migration.

-- Requests by the status of their answer, with the isolate's model cache outcome. Only requests
-- whose version was resolved are counted (an unknown model name would be an unbounded label).
CREATE TABLE inference_requests (
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  runtime TEXT NOT NULL,
  status TEXT NOT NULL,
  requests INTEGER NOT NULL,
  cache_hits INTEGER NOT NULL,
  cache_misses INTEGER NOT NULL,
  PRIMARY KEY (model, version, runtime, status)
) WITHOUT ROWID;

-- Histogram buckets of successful requests' durations (kind 'queue' or 'compute'). Each request
-- adds to the one bucket its duration falls in (`le` as Prometheus shows it: '2.5', '+Inf'), and
-- to that bucket's sum; /metrics cumulates the buckets and adds the sums.
CREATE TABLE inference_durations (
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  runtime TEXT NOT NULL,
  kind TEXT NOT NULL,
  le TEXT NOT NULL,
  n INTEGER NOT NULL,
  sum_ms REAL NOT NULL,
  PRIMARY KEY (model, version, runtime, kind, le)
) WITHOUT ROWID;
