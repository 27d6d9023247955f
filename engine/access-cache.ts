// What the data plane checks on every request (who the caller is, what they may do, which pool
// they name) kept in memory, so a warm request spends no database round trip on it.
//
// Postgres stays the truth. Every change that could widen or narrow access notifies the engine
// inside its own transaction (a revoked service principal or a role added or removed:
// lib/services/principal-events.ts; a pool created, changed or deleted: pool-events.ts), and the
// notification drops the affected entries. While the LISTEN connection is down notifications can
// be missed, so the cache is emptied and bypassed until it listens again. Expiry (of a token or
// of a service principal) is a moment, not an event: it is checked on every use.
import { decodeJwt } from 'jose';
import type pg from 'pg';
import type { Principal } from '../lib/auth/access';
import { POOL_CHANGED_CHANNEL } from '../lib/services/pool-events';
import { PRINCIPAL_CHANGED_CHANNEL } from '../lib/services/principal-events';
import { loadServicePrincipalAccess } from '../lib/services/principals';
import { bearerTokenFrom, isUserToken, verifyAccessToken } from '../lib/tokens/access-token';
import { publicJwks } from '../lib/tokens/signing-keys';
import { DATA_PLANE_AUDIENCE } from '../lib/tokens/audiences';
import type { PostgresListener } from './listener';
import { CacheValidity, forgetOldestTenth } from './notified-cache';
import { loadPoolByName, type PoolConfig } from './pools';

/**
 * How long a verified token's signature is trusted before it is checked again: the published
 * keys are cached for as long (lib/tokens/signing-keys.ts), so a retired key stops working
 * within the same minute either way.
 */
const SIGNATURE_TRUST_MS = 60_000;
/** Prisma's pool holds 2 × cores + 1 connections by default; a few cover a first burst. */
const PRISMA_CONNECTIONS_TO_WARM = 4;
/** Distinct tokens remembered; beyond this the oldest are forgotten (and verified again when seen). */
const MAX_TOKENS = 10_000;

type VerifiedToken = { principalId: string; expiresAtMs: number; verifiedAtMs: number };
type CachedPrincipal = { principal: Principal; expiresAtMs: number | null };

export class AccessCache {
  private readonly tokens = new Map<string, VerifiedToken>();
  private readonly principals = new Map<string, CachedPrincipal>();
  private readonly pools = new Map<string, PoolConfig>();
  private readonly checks = new Map<string, Promise<Principal>>();
  private readonly validity: CacheValidity;

  constructor(
    private readonly db: pg.Pool,
    listener: PostgresListener,
  ) {
    listener.on(PRINCIPAL_CHANGED_CHANNEL, (principalId) => {
      this.validity.invalidate();
      this.principals.delete(principalId);
    });
    listener.on(POOL_CHANGED_CHANNEL, () => {
      this.validity.invalidate();
      this.pools.clear();
    });
    this.validity = new CacheValidity(listener, () => {
      this.tokens.clear();
      this.principals.clear();
      this.pools.clear();
    });
  }

  /**
   * Loads the token signing keys and opens Prisma's connections, at engine start: the first
   * burst of requests after a start otherwise paid for both (8 concurrent first token checks
   * took 75-235 ms each).
   */
  async warm(): Promise<void> {
    await Promise.all([publicJwks(), ...Array.from({ length: PRISMA_CONNECTIONS_TO_WARM }, () => loadServicePrincipalAccess('sp_engine_start_warm_up'))]);
  }

  /**
   * The caller behind an `Authorization: Bearer` header, for the data plane.
   * Throws AppError UNAUTHORIZED saying what is wrong and how to get a good token.
   */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    const token = bearerTokenFrom(authorization ?? null);
    // A person's token (the portal's code console) is checked in full every time: the console
    // sends little traffic, and disabling a person or changing their password sends no
    // notification this cache could follow.
    if (isUserToken(token)) return verifyAccessToken(token, DATA_PLANE_AUDIENCE);
    const now = Date.now();
    const known = this.tokens.get(token);
    if (known && known.expiresAtMs > now && now - known.verifiedAtMs < SIGNATURE_TRUST_MS) {
      const principal = await this.principal(known.principalId, now);
      if (principal) return principal;
    }
    // Unknown, expired, due for a fresh signature check, or its principal lost access: the full
    // check decides, and its error says exactly what is wrong. Requests that arrive with the
    // same token while it runs share it (a client's first burst is one check, not eight).
    let check = this.checks.get(token);
    if (!check) {
      check = this.fullCheck(token, now).finally(() => this.checks.delete(token));
      this.checks.set(token, check);
    }
    return check;
  }

  private async fullCheck(token: string, now: number): Promise<Principal> {
    this.tokens.delete(token);
    const mark = this.validity.mark();
    const verified = await verifyAccessToken(token, DATA_PLANE_AUDIENCE);
    const expiresAtSeconds = decodeJwt(token).exp;
    if (expiresAtSeconds !== undefined && this.validity.mayKeep(mark)) {
      if (this.tokens.size >= MAX_TOKENS) forgetOldestTenth(this.tokens, MAX_TOKENS);
      this.tokens.set(token, { principalId: verified.id, expiresAtMs: expiresAtSeconds * 1000, verifiedAtMs: now });
    }
    // Null only when access was withdrawn in the instant between the two reads; the full check
    // that just passed answers for this one request.
    return (await this.principal(verified.id, now)) ?? verified;
  }

  /** The pool named `name`, or null when there is none. */
  async pool(name: string): Promise<PoolConfig | null> {
    const cached = this.pools.get(name);
    if (cached) return cached;
    const mark = this.validity.mark();
    const pool = await loadPoolByName(this.db, name);
    if (pool && this.validity.mayKeep(mark)) this.pools.set(name, pool);
    return pool;
  }

  /** An active service principal with its current roles; null once revoked, expired or gone. */
  private async principal(id: string, now: number): Promise<Principal | null> {
    let entry = this.principals.get(id);
    if (!entry) {
      const mark = this.validity.mark();
      const access = await loadServicePrincipalAccess(id);
      if (!access) return null;
      entry = { principal: access.principal, expiresAtMs: access.expiresAt?.getTime() ?? null };
      if (this.validity.mayKeep(mark)) this.principals.set(id, entry);
    }
    return entry.expiresAtMs === null || entry.expiresAtMs > now ? entry.principal : null;
  }
}
