-- AlterEnum
ALTER TYPE "OperationKind" ADD VALUE 'console';

-- CreateTable
CREATE TABLE "ConsoleTicket" (
    "id" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "capsulId" TEXT NOT NULL,
    "sessionId" TEXT,
    "actor" TEXT NOT NULL,
    "operationId" TEXT NOT NULL,
    "clientAddress" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3),

    CONSTRAINT "ConsoleTicket_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ConsoleTicket_tokenHash_key" ON "ConsoleTicket"("tokenHash");

-- CreateIndex
CREATE UNIQUE INDEX "ConsoleTicket_operationId_key" ON "ConsoleTicket"("operationId");

-- CreateIndex
CREATE INDEX "ConsoleTicket_expiresAt_idx" ON "ConsoleTicket"("expiresAt");
