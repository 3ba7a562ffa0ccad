-- Writes of several statements as one round trip each.
--
-- On a busy host every round trip to the server costs the worker and the
-- server a sleep and a wake-up, and that, not the SQL, is what bounds the
-- write rate of /update and /add_event.  These procedures run the whole
-- write server-side: the handler sends one CALL with bound parameters.
--
-- Each procedure is one transaction.  Called with no transaction open
-- (autocommit, the usual case) it opens and commits its own; called inside
-- the caller's transaction (a request with an Idempotency-Key, whose claim
-- must commit with the write) it only adds its statements to it and lets
-- the caller commit or roll back.  On any error it rolls back what it
-- opened and passes the error on (a deadlock, 1213, reaches the caller,
-- which runs the CALL again).  The answer is one row, read after the
-- commit.

-- CALL tag_increment(tag_id, n): the /update write.  Adds n to the
-- counter and writes the history row.  Answers the new count -- the value
-- this call wrote while it held the row's lock, taken through
-- LAST_INSERT_ID(expr), never re-read -- or NULL when no tag has that id
-- (then nothing is written).  A counter that would pass 2^64-1 fails with
-- error 1690 and writes nothing.
DROP PROCEDURE IF EXISTS tag_increment;
CREATE PROCEDURE tag_increment(IN p_tag_id BIGINT UNSIGNED, IN p_n INT UNSIGNED)
MODIFIES SQL DATA
BEGIN
  DECLARE v_own BOOLEAN DEFAULT @@in_transaction = 0;
  DECLARE v_count BIGINT UNSIGNED DEFAULT NULL;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF v_own THEN ROLLBACK; END IF;
    RESIGNAL;
  END;
  IF v_own THEN START TRANSACTION; END IF;
  UPDATE tags SET count = LAST_INSERT_ID(count + p_n), last_used_at = NOW(6)
    WHERE id = p_tag_id;
  IF ROW_COUNT() = 1 THEN
    SET v_count = LAST_INSERT_ID();
    INSERT INTO tag_history (tag_id, at, amount) VALUES (p_tag_id, NOW(6), p_n);
  END IF;
  IF v_own THEN COMMIT; END IF;
  SELECT v_count AS count;
END;

-- CALL event_add(start_us, stop_us, tags): the /add_event write.  tags
-- holds the event's distinct tags joined by the byte 0x1F (tags never
-- contain control characters; an empty string is no tags); they are kept
-- joined in events.tags and one event_tags row each, pos numbering them
-- in order.  Answers the new event's id.
DROP PROCEDURE IF EXISTS event_add;
CREATE PROCEDURE event_add(IN p_start_us BIGINT, IN p_stop_us BIGINT, IN p_tags MEDIUMBLOB)
MODIFIES SQL DATA
BEGIN
  DECLARE v_own BOOLEAN DEFAULT @@in_transaction = 0;
  DECLARE v_id BIGINT UNSIGNED;
  DECLARE v_from INT UNSIGNED DEFAULT 1;
  DECLARE v_end INT UNSIGNED;
  DECLARE v_pos SMALLINT UNSIGNED DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF v_own THEN ROLLBACK; END IF;
    RESIGNAL;
  END;
  IF v_own THEN START TRANSACTION; END IF;
  INSERT INTO events (start_us, stop_us, tags, created_at)
    VALUES (p_start_us, p_stop_us, p_tags, NOW(6));
  SET v_id = LAST_INSERT_ID();
  WHILE v_from <= LENGTH(p_tags) DO
    SET v_end = LOCATE(X'1F', p_tags, v_from);
    IF v_end = 0 THEN
      SET v_end = LENGTH(p_tags) + 1;
    END IF;
    INSERT INTO event_tags (event_id, tag, pos)
      VALUES (v_id, SUBSTRING(p_tags, v_from, v_end - v_from), v_pos);
    SET v_pos = v_pos + 1, v_from = v_end + 1;
  END WHILE;
  IF v_own THEN COMMIT; END IF;
  SELECT v_id AS id;
END;
