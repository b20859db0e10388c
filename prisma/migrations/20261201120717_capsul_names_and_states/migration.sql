-- AlterEnum
ALTER TYPE "CapsulState" ADD VALUE 'missing';

-- AlterTable: capsuls made before names are named by their id (unique, and a valid name).
ALTER TABLE "Capsul" ADD COLUMN     "deletedBy" TEXT,
ADD COLUMN     "name" TEXT,
ADD COLUMN     "step" TEXT;
UPDATE "Capsul" SET "name" = "id";
ALTER TABLE "Capsul" ALTER COLUMN "name" SET NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "Capsul_ownerId_name_key" ON "Capsul"("ownerId", "name") WHERE ("deletedAt" IS NULL);
