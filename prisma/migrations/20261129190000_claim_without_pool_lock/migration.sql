-- Claims no longer wait for each other while the pool is within its cap.
--
-- The reconciler never starts a sandbox that would take a pool's live sessions (pending, ready
-- and allocated) past maxConcurrentSessions, and a claim only turns a ready session into an
-- allocated one, so while live <= max no claim of a ready session can break the cap, however
-- many run at once: FOR UPDATE SKIP LOCKED hands each a different row and the partial unique
-- index on (pool, identifier) settles two claims for one identifier. Only when live > max (the
-- cap was just lowered, or a reconfiguration's new sandboxes start beside the old ones) does a
-- claim take the pool's lock and count under it, as before.
--
-- Measured (24 new identifiers at concurrency 8 on 2 vCPUs): with every claim under the lock,
-- the claims' execute times summed to 2.6 s (109 ms each on average, one finishing every
-- ~20 ms): whichever backend held the lock was often preempted on the busy machine, and seven
-- others queued behind it.
CREATE OR REPLACE FUNCTION sandpool_claim_ready_session(p_pool_id text, p_identifier text, p_cooldown_seconds integer, p_max_concurrent integer)
RETURNS TABLE (session_id text, newly_claimed boolean, allocated_count bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_live bigint;
BEGIN
  SELECT count(*) INTO v_live FROM sessions s WHERE s.pool_id = p_pool_id AND s.state IN ('PENDING', 'READY', 'ALLOCATED');
  IF v_live > p_max_concurrent THEN
    PERFORM pg_advisory_xact_lock(hashtext(p_pool_id));
  END IF;
  RETURN QUERY
  WITH existing AS (
    SELECT s.id FROM sessions s WHERE s.pool_id = p_pool_id AND s.identifier = p_identifier AND s.state = 'ALLOCATED'
  ), capacity AS (
    SELECT count(*) AS allocated FROM sessions s WHERE s.pool_id = p_pool_id AND s.state = 'ALLOCATED'
  ), candidate AS (
    SELECT s.id FROM sessions s
    WHERE s.pool_id = p_pool_id AND s.state = 'READY'
      AND s.generation = (SELECT p.generation FROM session_pools p WHERE p.id = p_pool_id)
      AND NOT EXISTS (SELECT 1 FROM existing)
      AND (SELECT c.allocated FROM capacity c) < p_max_concurrent
    ORDER BY s.ready_at
    LIMIT 1
    FOR UPDATE SKIP LOCKED
  ), moved AS (
    UPDATE sessions s SET state = 'ALLOCATED', identifier = p_identifier, allocated_at = now(), last_accessed_at = now(),
      expires_at = now() + make_interval(secs => p_cooldown_seconds), updated_at = now()
    FROM candidate WHERE s.id = candidate.id
    RETURNING s.id, s.pool_id, 'READY'::"SessionState" AS from_state, s.state AS to_state
  ), ev AS (
    INSERT INTO session_events (session_id, pool_id, from_state, to_state, reason)
    SELECT m.id, m.pool_id, m.from_state, m.to_state, 'allocated to a new identifier' FROM moved m
    RETURNING session_events.id, session_events.session_id, session_events.pool_id, session_events.from_state, session_events.to_state, session_events.reason, session_events.at
  ), notified AS (
    SELECT ev.session_id, pg_notify('sandpool_session_events', json_build_object('id', ev.id::text, 'sessionId', ev.session_id,
      'poolId', ev.pool_id, 'from', ev.from_state, 'to', ev.to_state, 'reason', ev.reason, 'at', to_char(ev.at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text) FROM ev
  )
  SELECT e.id, false, (SELECT c.allocated FROM capacity c) FROM existing e
  UNION ALL SELECT n.session_id, true, (SELECT c.allocated FROM capacity c) FROM notified n
  UNION ALL SELECT NULL, false, (SELECT c.allocated FROM capacity c)
    WHERE NOT EXISTS (SELECT 1 FROM existing) AND NOT EXISTS (SELECT 1 FROM notified);
END $$;

-- Every backend planned the claim's statement afresh for its first five calls (plan_cache_mode
-- auto tries custom plans first), and the engine keeps 16 connections per pool: in a burst,
-- planning was a fifth of Postgres's CPU. The statement is the same for every pool and
-- identifier, so its generic plan is the right one from the first call.
ALTER FUNCTION sandpool_claim_ready_session(text, text, integer, integer) SET plan_cache_mode = force_generic_plan;
