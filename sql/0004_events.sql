-- Event timeline (API.md §3).
--
-- start_us and stop_us are exact integers: microseconds since
-- 1970-01-01T00:00:00Z.  An epoch printed by /list_events ("%d.%06d") and
-- sent back to /remove_events parses to the same integer, so equality is
-- exact (never a comparison of doubles).  stop_us is NULL while the event
-- is open.  created_at is when the row was written (database clock, UTC).
-- tags is the event's tags as given (distinct, in order) joined by the
-- byte 0x1F, which no tag can hold: what lists print, read with the row
-- instead of one event_tags lookup per event.  Tags never change after
-- creation, so this copy cannot drift from event_tags, which is what the
-- filters use.
CREATE TABLE events (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  start_us BIGINT NOT NULL,
  stop_us BIGINT NULL,
  tags MEDIUMBLOB NOT NULL,
  created_at DATETIME(6) NOT NULL,
  -- /remove_events by start, and `to=` (start < to)
  KEY events_start (start_us),
  -- `open=true`: the NULL entries, in id order (InnoDB appends the id)
  KEY events_stop (stop_us)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per event and distinct tag.  Tags compare as bytes (VARBINARY:
-- no case folding and no trailing-space padding, so 'a' and 'a ' are two
-- tags); 191 characters of UTF-8 are at most 764 bytes.  pos keeps the
-- order the client gave.  (tag, event_id) serves the tag filters of
-- /list_events: each tag's events in id order, so a page of one tag reads
-- only the page.  Deleting an event deletes its tags.
CREATE TABLE event_tags (
  event_id BIGINT UNSIGNED NOT NULL,
  tag VARBINARY(764) NOT NULL,
  pos SMALLINT UNSIGNED NOT NULL,
  PRIMARY KEY (event_id, tag),
  KEY event_tags_tag (tag, event_id),
  CONSTRAINT event_tags_event FOREIGN KEY (event_id) REFERENCES events (id)
    ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- For the mysql client: one row per event with its tags (in the order
-- given, joined with ', '), start and stop as epoch text exactly as the API
-- prints them and as UTC times.  A merge view: `WHERE id = 42` or
-- `ORDER BY id DESC LIMIT 20` reads only those events.
CREATE OR REPLACE VIEW admin_events AS
  SELECT e.id,
    CONCAT(e.start_us DIV 1000000, '.', LPAD(e.start_us MOD 1000000, 6, '0')) AS start_epoch,
    IF(e.stop_us IS NULL, NULL,
       CONCAT(e.stop_us DIV 1000000, '.', LPAD(e.stop_us MOD 1000000, 6, '0'))) AS stop_epoch,
    TIMESTAMPADD(MICROSECOND, e.start_us, TIMESTAMP '1970-01-01 00:00:00.000000') AS start_utc,
    TIMESTAMPADD(MICROSECOND, e.stop_us, TIMESTAMP '1970-01-01 00:00:00.000000') AS stop_utc,
    e.stop_us IS NULL AS open,
    (SELECT CONVERT(GROUP_CONCAT(t.tag ORDER BY t.pos SEPARATOR ', ') USING utf8mb4)
       FROM event_tags t WHERE t.event_id = e.id) AS tags,
    e.created_at
  FROM events e;

-- For the mysql client: every tag with the number of events carrying it
-- (counted when read).
CREATE OR REPLACE VIEW admin_event_tags AS
  SELECT CONVERT(tag USING utf8mb4) AS tag, COUNT(*) AS events
  FROM event_tags GROUP BY tag;
