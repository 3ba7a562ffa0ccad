-- Usage tags (API.md §2): exact counters, raw history, hourly rollups.

-- One row per tag.  name is VARBINARY so tags compare as bytes: no case
-- folding, no trailing-space padding (a PAD SPACE collation such as
-- utf8mb4_bin would make 'a' and 'a ' collide in the unique key), no
-- Unicode normalisation.  The application allows 1 to 191 characters of
-- UTF-8 without control characters, at most 764 bytes.  Ids are never
-- reused, so history rows of a deleted tag can never show up under a new
-- tag of the same name.
CREATE TABLE tags (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARBINARY(764) NOT NULL,
  count BIGINT UNSIGNED NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL,
  last_used_at DATETIME(6) NULL,
  UNIQUE KEY tags_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Raw history: one row per /update, amount = its n.  Rows older than
-- tags.history_days are folded into tag_history_hourly by the worker.
-- tag_history_tag_at serves a tag's history in (at, id) order and covers
-- amount, so /history pages and bucketed series are index-only scans;
-- tag_history_at serves the rollup's scan in (at, id) order (InnoDB
-- appends the primary key to every secondary index).
CREATE TABLE tag_history (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  tag_id BIGINT UNSIGNED NOT NULL,
  at DATETIME(6) NOT NULL,
  amount INT UNSIGNED NOT NULL,
  KEY tag_history_tag_at (tag_id, at, id, amount),
  KEY tag_history_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Hourly totals of rolled-up raw rows, kept forever: amount sums the
-- amounts, updates counts the /update calls folded in.
CREATE TABLE tag_history_hourly (
  tag_id BIGINT UNSIGNED NOT NULL,
  hour DATETIME NOT NULL,
  amount BIGINT UNSIGNED NOT NULL,
  updates BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (tag_id, hour)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Tags deleted by DELETE /tags/<tag> whose history the worker has not yet
-- removed (in bounded chunks).
CREATE TABLE tag_purges (
  tag_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  deleted_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- For the mysql client: every tag with its counter.
CREATE OR REPLACE VIEW admin_tags AS
  SELECT id, CONVERT(name USING utf8mb4) AS tag, count, created_at, last_used_at
  FROM tags;

-- For the mysql client: uses per tag per UTC day, raw rows and rollups
-- together.  uses sums the amounts (what the counter went up by); updates
-- counts the /update calls.
CREATE OR REPLACE VIEW admin_tag_usage_daily AS
  SELECT CONVERT(t.name USING utf8mb4) AS tag, u.day AS day,
         SUM(u.amount) AS uses, SUM(u.updates) AS updates
  FROM (
    SELECT tag_id, DATE(at) AS day, SUM(amount) AS amount, COUNT(*) AS updates
    FROM tag_history GROUP BY tag_id, DATE(at)
    UNION ALL
    SELECT tag_id, DATE(hour) AS day, SUM(amount) AS amount, SUM(updates) AS updates
    FROM tag_history_hourly GROUP BY tag_id, DATE(hour)
  ) u
  JOIN tags t ON t.id = u.tag_id
  GROUP BY t.id, t.name, u.day;
