-- The mysql-client procedures of 0002 check what POST /services checks, and
-- admin_kv_keys (0005) reads the clock in UTC.  Same names, same
-- parameters in the same order, same result sets; three parameters are
-- declared wider (below) so that the body sees what the caller wrote.
--
-- log_service_create let through what HTTP refuses:
--   * names: the parameter had the database's utf8mb4_general_ci collation,
--     under which REGEXP folds case, so 'ſ' (U+017F) and the Kelvin sign
--     (U+212A) matched [A-Za-z]; and PCRE's '$' matches before a final
--     newline, so 'x\n' passed.  The name is now checked byte for byte
--     (utf8mb4_bin, and a search for any character outside the set, which
--     needs no anchor), its length in bytes;
--   * allowed_ips: any JSON array was stored, '["bogus", 1, {"a":2}]'
--     included, and stored as written (newlines broke `cairnctl service
--     list`).  Now 1 to 100 strings, each a mask by the rules of
--     lib/logs_parse.c (mask_parse), stored compacted exactly as HTTP
--     stores it: ["m1","m2"], each mask unescaped and written back plainly
--     (a valid mask has no character JSON escapes);
--   * retention_days 1.5 was stored as 2 and privileged 5 as 5 (and 0.5
--     as TRUE): nothing checked privileged, and the parameters were INT
--     UNSIGNED and BOOLEAN (TINYINT), which round a fraction before the
--     body sees it.  Both are now DECIMAL(65,30), so the procedure sees
--     the value the caller wrote: privileged NULL (FALSE), 0/FALSE or
--     1/TRUE; retention_days NULL or a whole number 1 to 100000.
--     The name is VARCHAR(255) for the same reason: under a non-strict
--     sql_mode, VARCHAR(64) cut a longer name to its first 64 characters,
--     which then passed.
--
-- log_service_rotate_key matched 'web ' to 'web' (utf8mb4_bin pads with
-- spaces when comparing); it now refuses a name outside the naming rule,
-- so the name it looks for is exactly the one given.
--
-- Out-of-band changes reach the pool within auth.cache_ms (README, "Keys
-- and scopes"), not "at once" as 0002 said.

-- CALL log_service_create('name', privileged, allowed_ips, retention_days)
-- creates a service and returns its new key (one row: name, key); the key
-- is shown only here.  name: 1 to 64 of A-Z a-z 0-9 _ . -; privileged:
-- NULL or FALSE (0), TRUE (1); allowed_ips: NULL (any address) or a JSON
-- array of 1 to 100 masks, each a wildcard mask ('192.168.%', '_' one
-- character) or an address or CIDR, IPv4 or IPv6 ('10.0.0.0/8',
-- '::1/128'); retention_days: NULL keeps records forever, else 1 to
-- 100000.  Anything else: SQLSTATE 45000 and nothing is stored.  The key
-- is 32 random bytes as 64 hex digits, stored as its SHA-256 like every
-- cairn key (RANDOM_BYTES: MariaDB 10.10+).
DROP PROCEDURE IF EXISTS log_service_create;
CREATE PROCEDURE log_service_create(
    IN p_name VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    IN p_privileged DECIMAL(65,30),
    IN p_allowed_ips TEXT CHARACTER SET utf8mb4,
    IN p_retention_days DECIMAL(65,30))
BEGIN
  DECLARE v_key CHAR(64) CHARACTER SET ascii;
  DECLARE v_ips TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL;
  DECLARE v_n, v_i INT UNSIGNED DEFAULT 0;
  DECLARE v_elem, v_mask TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_addr, v_tail, v_prefix VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
  DECLARE v_ok BOOLEAN;
  -- IPv4 as inet_pton reads it: four decimal bytes without leading zeros
  DECLARE v_ipv4 VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT
    '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$';
  DECLARE v_msg VARCHAR(128) CHARACTER SET utf8mb4;

  -- name: no anchors, so no '$' that stops before a newline; p_name is
  -- utf8mb4_bin, so no case folding; LENGTH counts bytes
  IF p_name IS NULL OR LENGTH(p_name) NOT BETWEEN 1 AND 64
      OR p_name REGEXP '[^A-Za-z0-9_.-]' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'name must be 1 to 64 of A-Z a-z 0-9 _ . -';
  END IF;
  IF p_privileged IS NOT NULL AND p_privileged NOT IN (0, 1) THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'privileged must be NULL, FALSE (0) or TRUE (1)';
  END IF;
  IF p_retention_days IS NOT NULL AND (p_retention_days <> FLOOR(p_retention_days)
      OR p_retention_days < 1 OR p_retention_days > 100000) THEN
    SIGNAL SQLSTATE '45000'
      SET MESSAGE_TEXT = 'retention_days must be NULL or a whole number from 1 to 100000';
  END IF;

  IF p_allowed_ips IS NOT NULL THEN
    IF JSON_VALID(p_allowed_ips) = 0 OR JSON_TYPE(p_allowed_ips) <> 'ARRAY'
        OR JSON_LENGTH(p_allowed_ips) NOT BETWEEN 1 AND 100 THEN
      SIGNAL SQLSTATE '45000'
        SET MESSAGE_TEXT = 'allowed_ips must be NULL or a JSON array of 1 to 100 masks';
    END IF;
    SET v_n = JSON_LENGTH(p_allowed_ips), v_ips = '[';
    WHILE v_i < v_n DO
      SET v_elem = JSON_EXTRACT(p_allowed_ips, CONCAT('$[', v_i, ']'));
      IF COALESCE(JSON_TYPE(v_elem) <> 'STRING', TRUE) THEN
        SET v_msg = CONCAT('allowed_ips[', v_i, '] must be a string');
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_msg;
      END IF;
      SET v_mask = JSON_UNQUOTE(v_elem);
      -- 1 to 64 bytes (LOGS_IPMASK_MAX_LEN), only characters some mask form
      -- uses; after this no mask holds a newline, so '$' below is the true
      -- end
      SET v_ok = LENGTH(v_mask) BETWEEN 1 AND 64 AND v_mask NOT REGEXP '[^0-9A-Fa-f.:%_/]';
      SET v_addr = NULL;
      IF v_ok THEN
        IF LOCATE('/', v_mask) > 0 THEN
          -- CIDR: an address, '/', a prefix length without a leading zero
          -- and at most 32 (IPv4) or 128 (IPv6)
          SET v_addr = SUBSTRING_INDEX(v_mask, '/', 1),
              v_prefix = SUBSTRING(v_mask, LOCATE('/', v_mask) + 1);
          SET v_ok = v_prefix REGEXP '^(0|[1-9][0-9]{0,2})$';
          IF v_ok THEN
            SET v_ok = CAST(v_prefix AS UNSIGNED) <= IF(LOCATE(':', v_addr) > 0, 128, 32);
          END IF;
        ELSEIF v_mask NOT REGEXP '[%_]' THEN
          -- neither CIDR nor wildcard: one address
          SET v_addr = v_mask;
        END IF;
        -- else a wildcard mask like 192.168.% (its characters are checked)
      END IF;
      -- an address as inet_pton reads it: under 47 bytes; IPv4 as v_ipv4;
      -- IPv6 as eight groups of 1 to 4 hex digits, or fewer with one '::'
      -- standing for at least one group, the last two groups optionally an
      -- IPv4 address
      IF v_ok AND v_addr IS NOT NULL THEN
        IF LENGTH(v_addr) > 46 THEN
          SET v_ok = FALSE;
        ELSEIF LOCATE(':', v_addr) = 0 THEN
          SET v_ok = v_addr REGEXP v_ipv4;
        ELSE
          SET v_tail = SUBSTRING_INDEX(v_addr, ':', -1);
          IF LOCATE('.', v_tail) > 0 THEN
            SET v_ok = v_tail REGEXP v_ipv4;
            -- the IPv4 tail counts as two groups
            SET v_addr = CONCAT(LEFT(v_addr, LENGTH(v_addr) - LENGTH(v_tail)), '0:0');
          END IF;
          SET v_ok = v_ok AND (
            v_addr REGEXP '^[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4}){7}$'
            OR (v_addr REGEXP
                  '^([0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4})*)?::([0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4})*)?$'
                AND LENGTH(REPLACE(REGEXP_REPLACE(v_addr, '[0-9A-Fa-f]+', 'x'), ':', '')) <= 7));
        END IF;
      END IF;
      IF NOT v_ok THEN
        SET v_msg = CONCAT('allowed_ips[', v_i,
                           '] is neither a wildcard mask like 192.168.% nor a CIDR');
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_msg;
      END IF;
      SET v_ips = CONCAT(v_ips, IF(v_i > 0, ',', ''), '"', v_mask, '"');
      SET v_i = v_i + 1;
    END WHILE;
    SET v_ips = CONCAT(v_ips, ']');
  END IF;

  SET v_key = LOWER(HEX(RANDOM_BYTES(32)));
  INSERT INTO log_services (name, key_hash, privileged, allowed_ips, retention_days, created_at)
    VALUES (p_name, UNHEX(SHA2(v_key, 256)), COALESCE(p_privileged, 0), v_ips,
            p_retention_days, UTC_TIMESTAMP(6));
  SELECT p_name AS name, v_key AS `key`;
END;

-- CALL log_service_rotate_key('name') gives an enabled service a new key
-- (returned once, as by log_service_create).  The old key stops working
-- within auth.cache_ms (at once on a worker that has not looked it up).
-- Like POST /services/<name>/rotate-key, a disabled service's key is not
-- rotated, and a name outside the naming rule names no service.
DROP PROCEDURE IF EXISTS log_service_rotate_key;
CREATE PROCEDURE log_service_rotate_key(
    IN p_name VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)
BEGIN
  DECLARE v_key CHAR(64) CHARACTER SET ascii;
  -- a valid name has no spaces, so the column's PAD SPACE comparison is
  -- exact for it
  IF p_name IS NULL OR LENGTH(p_name) NOT BETWEEN 1 AND 64
      OR p_name REGEXP '[^A-Za-z0-9_.-]' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'name must be 1 to 64 of A-Z a-z 0-9 _ . -';
  END IF;
  SET v_key = LOWER(HEX(RANDOM_BYTES(32)));
  UPDATE log_services SET key_hash = UNHEX(SHA2(v_key, 256))
    WHERE name = p_name AND disabled_at IS NULL;
  IF ROW_COUNT() = 0 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'no such enabled service';
  END IF;
  SELECT p_name AS name, v_key AS `key`;
END;

-- admin_kv_keys compared NOW(6), the session's time zone, with expires_at,
-- which is UTC: under a mysql client's `SET time_zone = '-05:00'` every TTL
-- was 5 hours long, under '+05:00' live keys vanished.  Same view, UTC like
-- the other views.
CREATE OR REPLACE VIEW admin_kv_keys AS
  SELECT CONVERT(k USING utf8mb4) AS `key`,
         LENGTH(v) AS bytes,
         content_type,
         expires_at,
         CASE WHEN expires_at IS NULL THEN NULL
              ELSE TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(6), expires_at) / 1000000
         END AS ttl_seconds,
         CONVERT(LEFT(v, 60) USING utf8mb4) AS preview,
         created_at,
         updated_at
  FROM kv_keys
  WHERE expires_at IS NULL OR expires_at > UTC_TIMESTAMP(6);
