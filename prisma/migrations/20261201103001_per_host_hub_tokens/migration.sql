-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "hubTokenSalt" TEXT NOT NULL DEFAULT 'initial',
ADD COLUMN     "previousHubTokenSalt" TEXT,
ADD COLUMN     "previousHubTokenUntil" TIMESTAMP(3),
ADD COLUMN     "previousTokenHash" TEXT,
ADD COLUMN     "previousTokenUntil" TIMESTAMP(3);

-- Hosts from before v1.1 hold the one shared HUB_TOKEN: the hub keeps presenting it to them (HUB_SHARED_TOKEN)
-- when they refuse their own token, until each has been given its own (docs/DEPLOYMENT.md, "Upgrading").
UPDATE "Host" SET "previousHubTokenSalt" = 'shared';
