-- CreateEnum
CREATE TYPE "RoleName" AS ENUM ('OWNER', 'CONTRIBUTOR', 'SESSION_EXECUTOR', 'READER');

-- CreateEnum
CREATE TYPE "ActorType" AS ENUM ('USER', 'SERVICE_PRINCIPAL', 'SYSTEM', 'ANONYMOUS');

-- CreateEnum
CREATE TYPE "AuditOutcome" AS ENUM ('SUCCESS', 'DENIED', 'FAILED');

-- CreateEnum
CREATE TYPE "ContainerType" AS ENUM ('PYTHON_LTS', 'NODE_LTS', 'SHELL', 'CUSTOM_CONTAINER');

-- CreateEnum
CREATE TYPE "IsolationRuntime" AS ENUM ('GVISOR', 'RUNC_HARDENED');

-- CreateEnum
CREATE TYPE "LifecycleType" AS ENUM ('TIMED', 'ON_CONTAINER_EXIT');

-- CreateEnum
CREATE TYPE "NetworkStatus" AS ENUM ('EGRESS_DISABLED', 'EGRESS_ENABLED');

-- CreateEnum
CREATE TYPE "SessionState" AS ENUM ('PENDING', 'READY', 'ALLOCATED', 'DELETING', 'DELETED', 'FAILED');

-- CreateTable
CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "display_name" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "password_changed_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "disabled_at" TIMESTAMP(3),
    "last_sign_in_at" TIMESTAMP(3),
    "created_by_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "service_principals" (
    "id" TEXT NOT NULL,
    "client_id" TEXT NOT NULL,
    "display_name" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "secret_hint" TEXT NOT NULL,
    "expires_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),
    "last_used_at" TIMESTAMP(3),
    "created_by_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "service_principals_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "role_assignments" (
    "id" TEXT NOT NULL,
    "role" "RoleName" NOT NULL,
    "scope" TEXT NOT NULL,
    "user_id" TEXT,
    "service_principal_id" TEXT,
    "created_by_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "role_assignments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_events" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_type" "ActorType" NOT NULL,
    "actor_id" TEXT,
    "actor_label" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target_type" TEXT,
    "target_id" TEXT,
    "target_label" TEXT,
    "outcome" "AuditOutcome" NOT NULL,
    "message" TEXT,
    "detail" JSONB,

    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "signing_keys" (
    "id" TEXT NOT NULL,
    "algorithm" TEXT NOT NULL,
    "public_jwk" JSONB NOT NULL,
    "private_jwk_encrypted" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retired_at" TIMESTAMP(3),

    CONSTRAINT "signing_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "session_pools" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "container_type" "ContainerType" NOT NULL DEFAULT 'PYTHON_LTS',
    "runtime" "IsolationRuntime" NOT NULL DEFAULT 'GVISOR',
    "max_concurrent_sessions" INTEGER NOT NULL DEFAULT 10,
    "ready_session_instances" INTEGER NOT NULL DEFAULT 5,
    "lifecycle_type" "LifecycleType" NOT NULL DEFAULT 'TIMED',
    "cooldown_period_in_seconds" INTEGER DEFAULT 300,
    "max_alive_period_in_seconds" INTEGER,
    "network_status" "NetworkStatus" NOT NULL DEFAULT 'EGRESS_DISABLED',
    "cpu_millicores" INTEGER NOT NULL DEFAULT 250,
    "memory_mib" INTEGER NOT NULL DEFAULT 512,
    "image" TEXT,
    "target_port" INTEGER,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "session_pools_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" TEXT NOT NULL,
    "pool_id" TEXT NOT NULL,
    "identifier" TEXT,
    "state" "SessionState" NOT NULL DEFAULT 'PENDING',
    "container_id" TEXT,
    "failure_reason" TEXT,
    "ready_at" TIMESTAMP(3),
    "allocated_at" TIMESTAMP(3),
    "last_accessed_at" TIMESTAMP(3),
    "expires_at" TIMESTAMP(3),
    "deleting_at" TIMESTAMP(3),
    "deleted_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "session_events" (
    "id" BIGSERIAL NOT NULL,
    "session_id" TEXT NOT NULL,
    "pool_id" TEXT NOT NULL,
    "from_state" "SessionState",
    "to_state" "SessionState" NOT NULL,
    "reason" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "session_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE INDEX "users_created_by_id_idx" ON "users"("created_by_id");

-- CreateIndex
CREATE UNIQUE INDEX "service_principals_client_id_key" ON "service_principals"("client_id");

-- CreateIndex
CREATE INDEX "service_principals_created_by_id_idx" ON "service_principals"("created_by_id");

-- CreateIndex
CREATE INDEX "role_assignments_user_id_idx" ON "role_assignments"("user_id");

-- CreateIndex
CREATE INDEX "role_assignments_service_principal_id_idx" ON "role_assignments"("service_principal_id");

-- CreateIndex
CREATE INDEX "role_assignments_created_by_id_idx" ON "role_assignments"("created_by_id");

-- CreateIndex
CREATE INDEX "role_assignments_scope_idx" ON "role_assignments"("scope");

-- CreateIndex
CREATE UNIQUE INDEX "role_assignments_user_role_scope_key" ON "role_assignments"("user_id", "role", "scope");

-- CreateIndex
CREATE UNIQUE INDEX "role_assignments_sp_role_scope_key" ON "role_assignments"("service_principal_id", "role", "scope");

-- CreateIndex
CREATE INDEX "audit_events_at_idx" ON "audit_events"("at");

-- CreateIndex
CREATE INDEX "audit_events_actor_id_idx" ON "audit_events"("actor_id");

-- CreateIndex
CREATE INDEX "audit_events_action_idx" ON "audit_events"("action");

-- CreateIndex
CREATE UNIQUE INDEX "session_pools_name_key" ON "session_pools"("name");

-- CreateIndex
CREATE INDEX "sessions_pool_id_idx" ON "sessions"("pool_id");

-- CreateIndex
CREATE INDEX "sessions_pool_id_state_idx" ON "sessions"("pool_id", "state");

-- CreateIndex
CREATE INDEX "sessions_pool_id_identifier_idx" ON "sessions"("pool_id", "identifier");

-- CreateIndex
CREATE INDEX "session_events_session_id_idx" ON "session_events"("session_id");

-- CreateIndex
CREATE INDEX "session_events_pool_id_id_idx" ON "session_events"("pool_id", "id");

-- AddForeignKey
ALTER TABLE "users" ADD CONSTRAINT "users_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "service_principals" ADD CONSTRAINT "service_principals_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "role_assignments" ADD CONSTRAINT "role_assignments_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "role_assignments" ADD CONSTRAINT "role_assignments_service_principal_id_fkey" FOREIGN KEY ("service_principal_id") REFERENCES "service_principals"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "role_assignments" ADD CONSTRAINT "role_assignments_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_pool_id_fkey" FOREIGN KEY ("pool_id") REFERENCES "session_pools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "session_events" ADD CONSTRAINT "session_events_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "session_events" ADD CONSTRAINT "session_events_pool_id_fkey" FOREIGN KEY ("pool_id") REFERENCES "session_pools"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Added by hand (Prisma cannot express CHECK constraints, so `createMigration` never generates
-- or removes this one): a role assignment belongs to exactly one principal, a user or a
-- service principal, never both and never neither.
ALTER TABLE "role_assignments" ADD CONSTRAINT "role_assignments_exactly_one_principal_check" CHECK (num_nonnulls("user_id", "service_principal_id") = 1);
