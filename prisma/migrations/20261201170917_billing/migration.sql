-- CreateEnum
CREATE TYPE "LedgerKind" AS ENUM ('payment', 'usage', 'credit', 'debit', 'refund');

-- AlterTable
ALTER TABLE "Capsul" ADD COLUMN     "sizeId" TEXT;

-- CreateTable
CREATE TABLE "Price" (
    "id" TEXT NOT NULL,
    "sizeId" TEXT NOT NULL,
    "monthlyMinor" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "from" TIMESTAMP(3) NOT NULL,
    "setBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Price_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LedgerEntry" (
    "id" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "kind" "LedgerKind" NOT NULL,
    "amountMinor" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "capsulId" TEXT,
    "note" TEXT,
    "actor" TEXT NOT NULL,
    "provider" TEXT,
    "providerRef" TEXT,
    "usageFrom" TIMESTAMP(3),
    "usageUntil" TIMESTAMP(3),
    "usageUnits" BIGINT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LedgerEntry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "BillingAccount" (
    "accountId" TEXT NOT NULL,
    "multiplierPercent" INTEGER NOT NULL DEFAULT 100,
    "exempt" BOOLEAN NOT NULL DEFAULT false,
    "lowWarnedAt" TIMESTAMP(3),
    "zeroSince" TIMESTAMP(3),
    "stoppedAt" TIMESTAMP(3),
    "deletedAt" TIMESTAMP(3),
    "updatedBy" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "BillingAccount_pkey" PRIMARY KEY ("accountId")
);

-- CreateTable
CREATE TABLE "BillingStep" (
    "id" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "step" TEXT NOT NULL,
    "balanceMinor" INTEGER NOT NULL,
    "detail" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "BillingStep_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Price_sizeId_from_idx" ON "Price"("sizeId", "from");

-- CreateIndex
CREATE UNIQUE INDEX "LedgerEntry_idempotencyKey_key" ON "LedgerEntry"("idempotencyKey");

-- CreateIndex
CREATE INDEX "LedgerEntry_accountId_createdAt_idx" ON "LedgerEntry"("accountId", "createdAt");

-- CreateIndex
CREATE INDEX "LedgerEntry_capsulId_usageUntil_idx" ON "LedgerEntry"("capsulId", "usageUntil");

-- CreateIndex
CREATE INDEX "BillingStep_accountId_createdAt_idx" ON "BillingStep"("accountId", "createdAt");

-- AddForeignKey
ALTER TABLE "LedgerEntry" ADD CONSTRAINT "LedgerEntry_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "BillingAccount" ADD CONSTRAINT "BillingAccount_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Capsuls made before billing: the catalog size they match, so they are priced like new ones.
UPDATE "Capsul" AS c SET "sizeId" = s.id
  FROM "VmSize" AS s
 WHERE c."sizeId" IS NULL AND s.vcpus = c.vcpus AND s."memoryMb" = c."memoryMb" AND s."diskGb" = c."diskGb";

-- The ledger is append-only: the database itself refuses to change or remove an entry.
-- (Its body has no literal semicolon, \x3B instead: the pg driver adapter splits a migration at every
-- semicolon, quoted or not.)
CREATE FUNCTION "LedgerEntry_append_only"() RETURNS trigger LANGUAGE plpgsql AS
  E'BEGIN RAISE EXCEPTION ''the ledger is append-only: % of an entry refused'', TG_OP\x3B END';

CREATE TRIGGER "LedgerEntry_append_only" BEFORE UPDATE OR DELETE ON "LedgerEntry"
  FOR EACH ROW EXECUTE FUNCTION "LedgerEntry_append_only"();
