-- CreateTable
CREATE TABLE "installation" (
    "id" TEXT NOT NULL DEFAULT (gen_random_uuid())::text,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "installation_pkey" PRIMARY KEY ("id")
);

-- Hand-written: the single row, created with the database.
INSERT INTO "installation" DEFAULT VALUES;
