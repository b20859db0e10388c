-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "images" JSONB;
