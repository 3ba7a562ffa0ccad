-- cairn foundation: migrations bookkeeping, API keys, log services,
-- idempotency keys and background job leases.

CREATE TABLE IF NOT EXISTS schema_migrations (
  version INT UNSIGNED NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  checksum CHAR(64) NOT NULL,
  applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- API keys: only the SHA-256 of a key is stored. scopes is the
-- space-separated list of scope names.
CREATE TABLE api_keys (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(191) NOT NULL,
  key_hash BINARY(32) NOT NULL,
  scopes VARCHAR(255) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  revoked_at DATETIME(6) NULL,
  UNIQUE KEY api_keys_hash (key_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Log services: each pushes log batches with its own key.
-- allowed_ips: NULL (any address) or a JSON array of masks ('192.168.%')
-- and CIDRs ('10.0.0.0/8'). retention_days NULL keeps records forever.
CREATE TABLE log_services (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  key_hash BINARY(32) NOT NULL,
  privileged BOOLEAN NOT NULL DEFAULT FALSE,
  allowed_ips TEXT NULL,
  retention_days INT UNSIGNED NULL,
  created_at DATETIME(6) NOT NULL,
  disabled_at DATETIME(6) NULL,
  UNIQUE KEY log_services_name (name),
  UNIQUE KEY log_services_hash (key_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Idempotency-Key records: the first response to a keyed write, stored
-- in the write's own transaction; expired by the worker after
-- idempotency.ttl_hours.
CREATE TABLE idempotency_keys (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  caller VARCHAR(48) NOT NULL,
  route VARCHAR(120) NOT NULL,
  idem_key VARBINARY(128) NOT NULL,
  request_hash BINARY(32) NOT NULL,
  status SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  content_type VARCHAR(255) NOT NULL DEFAULT '',
  body MEDIUMBLOB NULL,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY idempotency_keys_identity (caller, route, idem_key),
  KEY idempotency_keys_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Background job leases: one row per job; a worker runs a job only while
-- it holds the lease, so each job runs once at a time across all hosts.
CREATE TABLE job_leases (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  holder VARCHAR(128) NULL,
  lease_until DATETIME(6) NULL,
  next_run_at DATETIME(6) NOT NULL,
  last_run_at DATETIME(6) NULL,
  runs BIGINT UNSIGNED NOT NULL DEFAULT 0,
  failures BIGINT UNSIGNED NOT NULL DEFAULT 0,
  last_error TEXT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- For the mysql client: API keys without their hashes.
CREATE OR REPLACE VIEW admin_api_keys AS
  SELECT id, name, scopes, created_at, revoked_at FROM api_keys;

-- For the mysql client: background jobs and their last runs.
CREATE OR REPLACE VIEW admin_jobs AS
  SELECT name, holder, lease_until, next_run_at, last_run_at, runs, failures, last_error
  FROM job_leases;
