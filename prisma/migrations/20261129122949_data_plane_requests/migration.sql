-- CreateEnum
CREATE TYPE "ExecutionStatus" AS ENUM ('RUNNING', 'SUCCEEDED', 'FAILED');

-- CreateTable
CREATE TABLE "data_plane_requests" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "pool_id" TEXT NOT NULL,
    "session_id" TEXT,
    "identifier" TEXT,
    "principal_id" TEXT NOT NULL,
    "principal_label" TEXT NOT NULL,
    "route" TEXT NOT NULL,
    "status_code" INTEGER NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "execution_id" TEXT,
    "asynchronous" BOOLEAN,
    "execution_status" "ExecutionStatus",
    "code" TEXT,
    "stdout" TEXT,
    "stderr" TEXT,
    "execution_result" JSONB,
    "execution_time_ms" INTEGER,
    "error_code" TEXT,
    "error_message" TEXT,
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "data_plane_requests_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "data_plane_requests_pool_id_at_idx" ON "data_plane_requests"("pool_id", "at");

-- CreateIndex
CREATE INDEX "data_plane_requests_session_id_idx" ON "data_plane_requests"("session_id");

-- CreateIndex
CREATE INDEX "data_plane_requests_execution_idx" ON "data_plane_requests"("pool_id", "identifier", "execution_id");

-- CreateIndex
CREATE INDEX "data_plane_requests_at_idx" ON "data_plane_requests"("at");

-- AddForeignKey
ALTER TABLE "data_plane_requests" ADD CONSTRAINT "data_plane_requests_pool_id_fkey" FOREIGN KEY ("pool_id") REFERENCES "session_pools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "data_plane_requests" ADD CONSTRAINT "data_plane_requests_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written: asynchronous executions still running. At start the engine marks those a
-- previous engine left behind as failed; this keeps that a lookup instead of a scan of the
-- whole history. Prisma's schema language cannot express a partial index.
CREATE INDEX "data_plane_requests_running_idx" ON "data_plane_requests"("id") WHERE "execution_status" = 'RUNNING';
