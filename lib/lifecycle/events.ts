// Session events (session_events rows) as readers replay them.

/**
 * How long a transaction may take between drawing its event id and committing. Ids are drawn in
 * order but committed in any order, so an event can become visible after one with a higher id;
 * replays after a client's last event reach back this far before it to catch such events, and
 * clients skip the ids they have already seen. The portal's feed and the engine's event stream
 * both replay this way.
 */
export const COMMIT_SKEW_MS = 5_000;
