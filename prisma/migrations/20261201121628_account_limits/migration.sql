-- CreateTable
CREATE TABLE "DefaultLimits" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "capsuls" INTEGER,
    "vcpus" INTEGER,
    "memoryMb" INTEGER,
    "diskGb" INTEGER,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DefaultLimits_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AccountLimits" (
    "accountId" TEXT NOT NULL,
    "capsuls" INTEGER,
    "vcpus" INTEGER,
    "memoryMb" INTEGER,
    "diskGb" INTEGER,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AccountLimits_pkey" PRIMARY KEY ("accountId")
);

-- AddForeignKey
ALTER TABLE "AccountLimits" ADD CONSTRAINT "AccountLimits_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;
