-- admin_geo_queue (0006) showed NULL instead of 0 under `claimed` when no
-- queued task had a lease: a task without one compares NULL with the
-- clock, and a SUM of NULLs is NULL.  Same view, the comparisons made
-- definite.
CREATE OR REPLACE VIEW admin_geo_queue AS
  SELECT state,
         COUNT(*) AS tasks,
         MIN(submitted_at) AS oldest_submitted_at,
         TIMESTAMPDIFF(SECOND, MIN(submitted_at), UTC_TIMESTAMP(6)) AS oldest_age_seconds,
         SUM(state = 'queued' AND next_attempt_at <= UTC_TIMESTAMP(6)) AS due_now,
         SUM(state = 'queued' AND COALESCE(lease_until > UTC_TIMESTAMP(6), FALSE)) AS claimed,
         SUM(attempts) AS provider_calls
  FROM geo_tasks GROUP BY state;
