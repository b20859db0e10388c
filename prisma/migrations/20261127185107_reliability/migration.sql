-- AlterTable
ALTER TABLE "Operation" ADD COLUMN     "reapedAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "Reconciliation" (
    "id" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "finishedAt" TIMESTAMP(3) NOT NULL,
    "answered" JSONB NOT NULL,
    "failed" JSONB NOT NULL,
    "missing" JSONB NOT NULL,
    "unknown" JSONB NOT NULL,
    "stateDiffers" JSONB NOT NULL,
    "findings" INTEGER NOT NULL,

    CONSTRAINT "Reconciliation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Reconciliation_startedAt_idx" ON "Reconciliation"("startedAt");
