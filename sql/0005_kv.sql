-- Key-value store (API.md §5; docs/kv.md).
--
-- k: the key's bytes (valid UTF-8, 1-255 bytes, checked by the app),
-- compared exactly: VARBINARY has no collation, no case folding and no
-- trailing-space padding; byte order is code point order.
-- v: the value, any bytes up to kv.max_value (MEDIUMBLOB: < 16 MiB).
-- version: behind the ETag; random 62-bit start per creation, +1 per
-- replacement. expires_at: NULL = never; a row at or past it is treated as
-- absent by every read and removed by cairn-worker's kv-expiry job.
CREATE TABLE kv_keys (
  k VARBINARY(255) NOT NULL,
  v MEDIUMBLOB NOT NULL,
  content_type VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  version BIGINT UNSIGNED NOT NULL,
  expires_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (k),
  KEY kv_keys_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Values cairn-worker keeps for /metrics (it has no metrics region):
-- 'expired_total' (cairn_kv_expired_total) grows in the sweep's own
-- transaction; 'keys' (cairn_kv_keys) is set by the kv-count job.
CREATE TABLE kv_stats (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  n BIGINT NOT NULL DEFAULT 0,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT INTO kv_stats (name, n, updated_at) VALUES
  ('expired_total', 0, NOW(6)),
  ('keys', 0, NOW(6));

-- For the mysql client: live keys with their remaining time to live
-- (ttl_seconds NULL = never expires), size, type and the start of the value.
CREATE OR REPLACE VIEW admin_kv_keys AS
  SELECT CONVERT(k USING utf8mb4) AS `key`,
         LENGTH(v) AS bytes,
         content_type,
         expires_at,
         CASE WHEN expires_at IS NULL THEN NULL
              ELSE TIMESTAMPDIFF(MICROSECOND, NOW(6), expires_at) / 1000000
         END AS ttl_seconds,
         CONVERT(LEFT(v, 60) USING utf8mb4) AS preview,
         created_at,
         updated_at
  FROM kv_keys
  WHERE expires_at IS NULL OR expires_at > NOW(6);

-- For the mysql client: the sweep total and the last count of live keys.
CREATE OR REPLACE VIEW admin_kv_stats AS
  SELECT name, n, updated_at FROM kv_stats;
