-- Claiming a ready session for a new identifier, as one statement (engine/sessions/store.ts,
-- allocateSession). It was four round trips (BEGIN, the pool's lock, the claim, COMMIT), and
-- claims in one pool wait for each other's lock, so the round trips added up: eight claims at
-- once took 30 ms for the last on an idle machine. In a volatile PL/pgSQL function each
-- statement takes a fresh snapshot, so once the lock is granted the count of allocated
-- sessions includes every claim committed while this one waited; the lock is held until the
-- calling statement's transaction ends.
-- The NOTIFY channel is SESSION_EVENTS_CHANNEL in engine/sessions/store.ts.
CREATE FUNCTION sandpool_claim_ready_session(p_pool_id text, p_identifier text, p_cooldown_seconds integer, p_max_concurrent integer)
RETURNS TABLE (session_id text, newly_claimed boolean, allocated_count bigint)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(p_pool_id));
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
