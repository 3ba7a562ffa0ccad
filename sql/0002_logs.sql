-- cairn logs (API.md §1): log records, the admin views and the stored
-- procedures that manage services from the mysql client.  The services
-- themselves (log_services) are in 0001_foundation.sql.

-- One row per log record.  level: 0 not_set, 1 debug, 2 info, 3 warning,
-- 4 error, 5 critical (severity order, so min_level is a range).  ts is the
-- record's own time, received_at when cairn stored it, both UTC.
--
-- Indexes (InnoDB appends the primary key id to each, so every one is
-- also ordered by (ts, id) within its prefix, which is what keyset
-- pagination needs):
--   service_ts  /query/service/<s>[/<date>], /logs?service=, purge and
--               retention (deletes walk one service's oldest rows)
--   level_ts    /query/level/<l>[/<date>], /logs?level=
--   ts          /query/date/<date>, /logs without service or level
CREATE TABLE log_records (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  service_id INT UNSIGNED NOT NULL,
  level TINYINT UNSIGNED NOT NULL,
  ts DATETIME(6) NOT NULL,
  received_at DATETIME(6) NOT NULL,
  body MEDIUMTEXT NOT NULL,
  KEY log_records_service_ts (service_id, ts, id),
  KEY log_records_level_ts (level, ts, id),
  KEY log_records_ts (ts, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- For the mysql client: log services without their key hashes.
CREATE OR REPLACE VIEW admin_log_services AS
  SELECT id, name, privileged, allowed_ips, retention_days, created_at, disabled_at
  FROM log_services;

-- For the mysql client: the records of the last 24 hours with service and
-- level names, e.g.
--   SELECT * FROM admin_recent_logs WHERE service = 'web' AND level = 'error'
--   ORDER BY timestamp DESC LIMIT 20;
CREATE OR REPLACE VIEW admin_recent_logs AS
  SELECT r.id, s.name AS service,
         ELT(r.level + 1, 'not_set', 'debug', 'info', 'warning', 'error', 'critical') AS level,
         r.ts AS `timestamp`, r.received_at, r.body
  FROM log_records r JOIN log_services s ON s.id = r.service_id
  WHERE r.ts >= UTC_TIMESTAMP(6) - INTERVAL 1 DAY;

-- For the mysql client: record counts of the last 24 hours by service and
-- level.
CREATE OR REPLACE VIEW admin_log_levels_24h AS
  SELECT s.name AS service,
         ELT(r.level + 1, 'not_set', 'debug', 'info', 'warning', 'error', 'critical') AS level,
         COUNT(*) AS records, MAX(r.ts) AS latest
  FROM log_records r JOIN log_services s ON s.id = r.service_id
  WHERE r.ts >= UTC_TIMESTAMP(6) - INTERVAL 1 DAY
  GROUP BY s.name, r.level;

-- CALL log_service_create('name', privileged, allowed_ips, retention_days)
-- creates a service and returns its new key (one row: name, key); the key
-- is shown only here.  allowed_ips is NULL (any address) or a JSON array
-- of masks, e.g. '["192.168.%", "10.0.0.0/8"]'; retention_days NULL keeps
-- records forever.  The key is 32 random bytes as 64 hex digits, stored
-- as its SHA-256 like every cairn key (RANDOM_BYTES: MariaDB 10.10+).
DROP PROCEDURE IF EXISTS log_service_create;
CREATE PROCEDURE log_service_create(IN p_name VARCHAR(64), IN p_privileged BOOLEAN,
                                    IN p_allowed_ips TEXT, IN p_retention_days INT UNSIGNED)
BEGIN
  DECLARE v_key CHAR(64) CHARACTER SET ascii;
  IF p_name IS NULL OR p_name NOT REGEXP '^[A-Za-z0-9_.-]{1,64}$' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'name must be 1 to 64 of A-Z a-z 0-9 _ . -';
  END IF;
  IF p_allowed_ips IS NOT NULL AND (LENGTH(p_allowed_ips) > 6900 OR JSON_VALID(p_allowed_ips) = 0
      OR JSON_TYPE(p_allowed_ips) <> 'ARRAY' OR JSON_LENGTH(p_allowed_ips) = 0) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'allowed_ips must be NULL or a JSON array of masks';
  END IF;
  IF p_retention_days IS NOT NULL AND (p_retention_days < 1 OR p_retention_days > 100000) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'retention_days must be NULL or 1 to 100000';
  END IF;
  SET v_key = LOWER(HEX(RANDOM_BYTES(32)));
  INSERT INTO log_services (name, key_hash, privileged, allowed_ips, retention_days, created_at)
    VALUES (p_name, UNHEX(SHA2(v_key, 256)), COALESCE(p_privileged, FALSE), p_allowed_ips,
            p_retention_days, UTC_TIMESTAMP(6));
  SELECT p_name AS name, v_key AS `key`;
END;

-- CALL log_service_rotate_key('name') gives an enabled service a new key
-- (returned once, as by log_service_create); the old key stops working at
-- once.  Like POST /services/<name>/rotate-key, a disabled service's key
-- is not rotated.
DROP PROCEDURE IF EXISTS log_service_rotate_key;
CREATE PROCEDURE log_service_rotate_key(IN p_name VARCHAR(64))
BEGIN
  DECLARE v_key CHAR(64) CHARACTER SET ascii;
  SET v_key = LOWER(HEX(RANDOM_BYTES(32)));
  UPDATE log_services SET key_hash = UNHEX(SHA2(v_key, 256))
    WHERE name = p_name AND disabled_at IS NULL;
  IF ROW_COUNT() = 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no such enabled service';
  END IF;
  SELECT p_name AS name, v_key AS `key`;
END;
