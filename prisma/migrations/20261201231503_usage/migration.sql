-- CreateTable
CREATE TABLE "CapsulUsage" (
    "capsulId" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "seconds" REAL NOT NULL,
    "cpuPercent" REAL NOT NULL,
    "memoryBytes" REAL NOT NULL,
    "netInBps" REAL NOT NULL,
    "netOutBps" REAL NOT NULL,
    "diskReadBps" REAL NOT NULL,
    "diskWriteBps" REAL NOT NULL,

    CONSTRAINT "CapsulUsage_pkey" PRIMARY KEY ("capsulId","step","at")
);

-- CreateTable
CREATE TABLE "HostUsage" (
    "hostId" TEXT NOT NULL,
    "step" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "seconds" REAL NOT NULL,
    "cpuPercent" REAL NOT NULL,
    "memoryUsedBytes" REAL NOT NULL,
    "memoryTotalBytes" REAL NOT NULL,
    "memoryCommittedBytes" REAL NOT NULL,
    "diskUsedBytes" REAL NOT NULL,
    "diskTotalBytes" REAL NOT NULL,
    "diskCommittedBytes" REAL NOT NULL,

    CONSTRAINT "HostUsage_pkey" PRIMARY KEY ("hostId","step","at")
);

-- CreateTable
CREATE TABLE "UsageRollup" (
    "step" INTEGER NOT NULL,
    "rolledTo" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "UsageRollup_pkey" PRIMARY KEY ("step")
);

-- CreateIndex
CREATE INDEX "CapsulUsage_step_at_idx" ON "CapsulUsage"("step", "at");

-- CreateIndex
CREATE INDEX "HostUsage_step_at_idx" ON "HostUsage"("step", "at");
