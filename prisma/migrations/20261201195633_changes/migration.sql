-- CreateEnum
CREATE TYPE "SnapshotState" AS ENUM ('taking', 'ready');

-- AlterEnum
-- The index that uses these values is in the next migration: PostgreSQL refuses a new enum value in the
-- transaction that added it.
ALTER TYPE "OperationKind" ADD VALUE 'resize';
ALTER TYPE "OperationKind" ADD VALUE 'snapshotCreate';
ALTER TYPE "OperationKind" ADD VALUE 'snapshotRevert';
ALTER TYPE "OperationKind" ADD VALUE 'snapshotDelete';
ALTER TYPE "OperationKind" ADD VALUE 'rebuild';

-- CreateTable
CREATE TABLE "Snapshot" (
    "id" TEXT NOT NULL,
    "capsulId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "note" TEXT,
    "state" "SnapshotState" NOT NULL DEFAULT 'taking',
    "bytes" BIGINT,
    "operationId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "takenAt" TIMESTAMP(3),
    "deletedAt" TIMESTAMP(3),

    CONSTRAINT "Snapshot_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Snapshot_capsulId_createdAt_idx" ON "Snapshot"("capsulId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Snapshot_capsulId_name_key" ON "Snapshot"("capsulId", "name") WHERE ("deletedAt" IS NULL);

-- AddForeignKey
ALTER TABLE "Snapshot" ADD CONSTRAINT "Snapshot_capsulId_fkey" FOREIGN KEY ("capsulId") REFERENCES "Capsul"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
