-- AlterTable
ALTER TABLE "session_pools" ADD COLUMN     "deleting_at" TIMESTAMP(3),
ADD COLUMN     "generation" INTEGER NOT NULL DEFAULT 1;

-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "generation" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "image" TEXT,
ADD COLUMN     "runtime" "IsolationRuntime" NOT NULL DEFAULT 'GVISOR';

-- Hand-written: at most one live (allocated) session per identifier in a pool. Two requests
-- racing for the same new identifier cannot both claim a sandbox: the loser hits this index and
-- retries, finding the winner's session. Prisma's schema language cannot express a partial
-- index, so it lives only here.
CREATE UNIQUE INDEX "sessions_live_identifier_key" ON "sessions"("pool_id", "identifier") WHERE "state" = 'ALLOCATED';

-- The engine's refill and cooldown scans.
CREATE INDEX "sessions_allocated_last_access_idx" ON "sessions"("last_accessed_at") WHERE "state" = 'ALLOCATED';
