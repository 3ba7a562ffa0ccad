-- admin_events (0004) joined an event's tags with GROUP_CONCAT, which
-- stops at the reading session's group_concat_max_len without an error:
-- 1,024 bytes by default on MySQL, and whatever a host sets on MariaDB.
-- Same view, the tags read from the event's own copy (events.tags, joined
-- by 0x1F in the order given), whole; NULL still for an event without.
CREATE OR REPLACE VIEW admin_events AS
  SELECT e.id,
    CONCAT(e.start_us DIV 1000000, '.', LPAD(e.start_us MOD 1000000, 6, '0')) AS start_epoch,
    IF(e.stop_us IS NULL, NULL,
       CONCAT(e.stop_us DIV 1000000, '.', LPAD(e.stop_us MOD 1000000, 6, '0'))) AS stop_epoch,
    TIMESTAMPADD(MICROSECOND, e.start_us, TIMESTAMP '1970-01-01 00:00:00.000000') AS start_utc,
    TIMESTAMPADD(MICROSECOND, e.stop_us, TIMESTAMP '1970-01-01 00:00:00.000000') AS stop_utc,
    e.stop_us IS NULL AS open,
    CONVERT(NULLIF(REPLACE(e.tags, X'1F', ', '), '') USING utf8mb4) AS tags,
    e.created_at
  FROM events e;
