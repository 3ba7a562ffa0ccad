-- geo: geolocated event intake (API.md §4).  Submissions are queued as
-- tasks; cairn-worker claims them with a lease, resolves them (skipped,
-- from the per-address cache, or by calling the provider within one global
-- call budget) and stores the answer in the task.  All times are UTC.

-- One submitted event and its enrichment.  id orders the queue and the
-- lists; task_id is the public UUID.  ip is the source address as 4 or 16
-- bytes (inet_pton), NULL when the server had none.  lease_holder and
-- lease_token name the worker's claim; the holder stays set after the task
-- is resolved (who resolved it), lease_until is cleared.  attempts counts
-- calls to the provider since the task was (re)queued.
CREATE TABLE geo_tasks (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  task_id BINARY(16) NOT NULL,
  name VARCHAR(120) NULL,
  status_code BIGINT NULL,
  ip VARBINARY(16) NULL,
  state ENUM('queued', 'done', 'failed', 'skipped') NOT NULL DEFAULT 'queued',
  attempts INT UNSIGNED NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(6) NOT NULL,
  lease_holder VARCHAR(128) NULL,
  lease_token BIGINT NULL,
  lease_until DATETIME(6) NULL,
  last_error VARCHAR(255) NULL,
  country_code VARCHAR(8) NULL,
  country_name VARCHAR(200) NULL,
  city VARCHAR(200) NULL,
  latitude DECIMAL(9,6) NULL,
  longitude DECIMAL(9,6) NULL,
  time_zone VARCHAR(64) NULL,
  accuracy_radius INT UNSIGNED NULL,
  submitted_at DATETIME(6) NOT NULL,
  resolved_at DATETIME(6) NULL,
  UNIQUE KEY geo_tasks_task_id (task_id),
  KEY geo_tasks_due (state, next_attempt_at),
  KEY geo_tasks_state (state, id),
  KEY geo_tasks_country (country_code, id),
  KEY geo_tasks_status (status_code, id),
  KEY geo_tasks_ip (ip, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The provider's answers per address.  'ok' rows live geo.cache_ttl,
-- 'negative' rows (the provider said 400 or 404) geo.negative_ttl.  A
-- 'pending' row says task task_id owns the call for this address until
-- expires_at: other tasks with the same address wait for its answer
-- instead of calling again, so an address costs one call.
CREATE TABLE geo_cache (
  ip VARBINARY(16) NOT NULL PRIMARY KEY,
  state ENUM('pending', 'ok', 'negative') NOT NULL,
  task_id BIGINT UNSIGNED NULL,
  expires_at DATETIME(6) NOT NULL,
  error VARCHAR(255) NULL,
  country_code VARCHAR(8) NULL,
  country_name VARCHAR(200) NULL,
  city VARCHAR(200) NULL,
  latitude DECIMAL(9,6) NULL,
  longitude DECIMAL(9,6) NULL,
  time_zone VARCHAR(64) NULL,
  accuracy_radius INT UNSIGNED NULL,
  updated_at DATETIME(6) NOT NULL,
  KEY geo_cache_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The global call budget (GCRA) and the circuit breaker: one row shared by
-- every worker on every host, read and written with the database clock.
-- A permit is one affected row of
--   UPDATE ... SET tat = GREATEST(tat, NOW(6)) + interval WHERE tat <= NOW(6) + interval
-- and its call is sent at the new tat, so calls are never closer than one
-- interval (see docs/geo.md).  breaker: 'closed' (calls flow), 'open'
-- (no permits until open_until), 'half_open' (one probe call in flight
-- until probe_until).  failures counts consecutive failed calls.
CREATE TABLE geo_budget (
  id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
  tat DATETIME(6) NOT NULL,
  breaker ENUM('closed', 'open', 'half_open') NOT NULL DEFAULT 'closed',
  failures INT UNSIGNED NOT NULL DEFAULT 0,
  open_until DATETIME(6) NULL,
  probe_until DATETIME(6) NULL,
  opened_count BIGINT UNSIGNED NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT INTO geo_budget (id, tat) VALUES (1, '2000-01-01 00:00:00');

-- Counters the workers keep for /metrics (the pool's shared memory cannot
-- see another process): one row per counter, raised in the same
-- transaction as the change it counts (n = n + ?, never read-modify-write).
CREATE TABLE geo_stats (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  n BIGINT UNSIGNED NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- For the mysql client: the queue by state, with the oldest submission
-- and its age in seconds, and how many queued tasks are due or claimed.
CREATE OR REPLACE VIEW admin_geo_queue AS
  SELECT state,
         COUNT(*) AS tasks,
         MIN(submitted_at) AS oldest_submitted_at,
         TIMESTAMPDIFF(SECOND, MIN(submitted_at), UTC_TIMESTAMP(6)) AS oldest_age_seconds,
         SUM(state = 'queued' AND next_attempt_at <= UTC_TIMESTAMP(6)) AS due_now,
         SUM(state = 'queued' AND lease_until > UTC_TIMESTAMP(6)) AS claimed,
         SUM(attempts) AS provider_calls
  FROM geo_tasks GROUP BY state;

-- For the mysql client: resolved events by country.
CREATE OR REPLACE VIEW admin_geo_by_country AS
  SELECT country_code, country_name, COUNT(*) AS events,
         COUNT(DISTINCT ip) AS addresses, MAX(submitted_at) AS last_submitted_at
  FROM geo_tasks WHERE state = 'done' GROUP BY country_code, country_name;

-- For the mysql client: the call budget, the breaker and the counters.
CREATE OR REPLACE VIEW admin_geo_budget AS
  SELECT b.breaker, b.failures, b.open_until, b.probe_until, b.opened_count,
         b.tat AS next_permit_at,
         (SELECT COUNT(*) FROM geo_cache c WHERE c.state = 'ok' AND c.expires_at > UTC_TIMESTAMP(6)) AS cached_addresses
  FROM geo_budget b WHERE b.id = 1;

CREATE OR REPLACE VIEW admin_geo_stats AS
  SELECT name, n FROM geo_stats;
