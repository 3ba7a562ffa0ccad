-- CALL event_add_group(events): several /add_event writes from different
-- workers as one round trip and one transaction (lib/gcommit.c groups
-- them; a lone event still goes through event_add, which costs the server
-- less for one).  Like the procedures of 0007 it opens and commits its
-- own transaction, or joins the caller's, and on any error rolls back
-- what it opened and passes the error on.
--
-- events is a JSON array, one object per event, in the order of the ids
-- they are to get:
--   {"s": "<start_us>", "e": "<stop_us>" or absent, "j": "<tags joined
--    by U+001F, as event_add takes them>", "t": ["<tag>", ...]}
-- (the numbers as strings, so no JSON parser rounds them through a
-- double).  The argument is cairn's own (lib/events_store.c), validated
-- there like event_add's; the procedure does not check it again.
--
-- The events are inserted by one statement, whose rows InnoDB numbers
-- consecutively -- first, first + step, ... with step
-- @@auto_increment_increment -- when innodb_autoinc_lock_mode is 0 or 1;
-- with 2 (interleaved) it promises no such thing.  Then every event's tag
-- rows, pos numbering them in order, by a second statement.  MariaDB
-- deems an INSERT ... SELECT from JSON_TABLE unsafe to replay from a
-- statement log.  So the procedure refuses (SQLSTATE 45000, nothing
-- written) any call on a server that logs statements (log_bin on,
-- binlog_format STATEMENT), and a group of more than one event under
-- lock mode 2; cairn then writes each event with event_add
-- (db_consecutive_ids and db_statement_binlog in lib/db.c keep it from
-- sending such groups at all).  It answers first_id and step.
DROP PROCEDURE IF EXISTS event_add_group;
CREATE PROCEDURE event_add_group(IN p_events MEDIUMTEXT CHARACTER SET utf8mb4)
MODIFIES SQL DATA
BEGIN
  DECLARE v_own BOOLEAN DEFAULT @@in_transaction = 0;
  DECLARE v_first BIGINT UNSIGNED;
  DECLARE v_step BIGINT UNSIGNED DEFAULT @@auto_increment_increment;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF v_own THEN ROLLBACK; END IF;
    RESIGNAL;
  END;
  IF @@log_bin = 1 AND @@binlog_format = 'STATEMENT' THEN
    SIGNAL SQLSTATE '45000'
      SET MESSAGE_TEXT = 'event_add_group: binlog_format STATEMENT cannot replay JSON_TABLE';
  END IF;
  IF JSON_LENGTH(p_events) > 1 AND @@innodb_autoinc_lock_mode >= 2 THEN
    SIGNAL SQLSTATE '45000'
      SET MESSAGE_TEXT = 'event_add_group: innodb_autoinc_lock_mode 2 gives no consecutive ids';
  END IF;
  IF v_own THEN START TRANSACTION; END IF;
  INSERT INTO events (start_us, stop_us, tags, created_at)
    SELECT e.start_us, e.stop_us, e.tags, NOW(6)
    FROM JSON_TABLE(p_events, '$[*]' COLUMNS (
      n FOR ORDINALITY,
      start_us BIGINT PATH '$.s' ERROR ON EMPTY ERROR ON ERROR,
      stop_us BIGINT PATH '$.e' NULL ON EMPTY ERROR ON ERROR,
      tags VARCHAR(16383) CHARACTER SET utf8mb4 PATH '$.j' ERROR ON EMPTY ERROR ON ERROR)) e
    ORDER BY e.n;
  SET v_first = LAST_INSERT_ID();
  -- an event without tags still yields one row of the nested path, with
  -- a NULL tag
  INSERT INTO event_tags (event_id, tag, pos)
    SELECT v_first + (e.n - 1) * v_step, e.tag, e.pos - 1
    FROM JSON_TABLE(p_events, '$[*]' COLUMNS (
      n FOR ORDINALITY,
      NESTED PATH '$.t[*]' COLUMNS (
        pos FOR ORDINALITY,
        tag VARCHAR(764) CHARACTER SET utf8mb4 PATH '$' ERROR ON ERROR))) e
    WHERE e.tag IS NOT NULL;
  IF v_own THEN COMMIT; END IF;
  SELECT v_first AS first_id, v_step AS step;
END;
