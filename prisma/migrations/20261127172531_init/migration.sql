-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "OperationKind" AS ENUM ('create', 'destroy', 'list', 'capacityAvailable', 'get', 'vmState');

-- CreateEnum
CREATE TYPE "OperationState" AS ENUM ('pending', 'assigned', 'completed', 'failed', 'conflict');

-- CreateEnum
CREATE TYPE "AssignmentStatus" AS ENUM ('pending', 'assigned', 'assigned_to_other_host', 'not_applicable', 'no_response_from_host', 'error_response_from_host', 'invalid_response_from_host');

-- CreateEnum
CREATE TYPE "CapsulState" AS ENUM ('pending', 'creating', 'running', 'stopped', 'paused', 'shutting_down', 'crashed', 'failed', 'deleted');

-- CreateTable
CREATE TABLE "Host" (
    "id" TEXT NOT NULL,
    "httpsUrl" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "driver" TEXT,
    "lastHealthCheck" TIMESTAMP(3),
    "lastError" TEXT,
    "freeMemoryMb" INTEGER,
    "freeDiskGb" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "removedAt" TIMESTAMP(3),

    CONSTRAINT "Host_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Operation" (
    "id" TEXT NOT NULL,
    "kind" "OperationKind" NOT NULL,
    "payload" JSONB NOT NULL,
    "state" "OperationState" NOT NULL DEFAULT 'pending',
    "error" TEXT,
    "actor" TEXT NOT NULL,
    "capsulId" TEXT,
    "hostId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "Operation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "HostOperation" (
    "operationId" TEXT NOT NULL,
    "hostId" TEXT NOT NULL,
    "assignmentStatus" "AssignmentStatus" NOT NULL DEFAULT 'pending',
    "result" JSONB,
    "reason" TEXT,
    "assignedAt" TIMESTAMP(3),
    "completedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "HostOperation_pkey" PRIMARY KEY ("operationId","hostId")
);

-- CreateTable
CREATE TABLE "Capsul" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "hostId" TEXT,
    "vcpus" INTEGER NOT NULL,
    "memoryMb" INTEGER NOT NULL,
    "diskGb" INTEGER NOT NULL,
    "image" TEXT NOT NULL,
    "state" "CapsulState" NOT NULL DEFAULT 'pending',
    "ipv4" TEXT,
    "ipv6" TEXT,
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "deletedAt" TIMESTAMP(3),

    CONSTRAINT "Capsul_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Account" (
    "id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Session" (
    "id" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LoginToken" (
    "id" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "clientAddress" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "usedAt" TIMESTAMP(3),

    CONSTRAINT "LoginToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SshKey" (
    "id" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SshKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "OsImage" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "file" TEXT NOT NULL,
    "kernel" TEXT,
    "initrd" TEXT,
    "cmdline" TEXT,
    "loginUser" TEXT NOT NULL DEFAULT 'root',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "sortOrder" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "OsImage_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "VmSize" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "vcpus" INTEGER NOT NULL,
    "memoryMb" INTEGER NOT NULL,
    "diskGb" INTEGER NOT NULL,
    "sortOrder" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "VmSize_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Operation_capsulId_createdAt_idx" ON "Operation"("capsulId", "createdAt");

-- CreateIndex
CREATE INDEX "Operation_createdAt_idx" ON "Operation"("createdAt");

-- CreateIndex
CREATE INDEX "Operation_state_idx" ON "Operation"("state");

-- CreateIndex
CREATE INDEX "HostOperation_hostId_idx" ON "HostOperation"("hostId");

-- CreateIndex
CREATE INDEX "Capsul_ownerId_createdAt_idx" ON "Capsul"("ownerId", "createdAt");

-- CreateIndex
CREATE INDEX "Capsul_hostId_idx" ON "Capsul"("hostId");

-- CreateIndex
CREATE INDEX "Capsul_state_idx" ON "Capsul"("state");

-- CreateIndex
CREATE UNIQUE INDEX "Account_email_key" ON "Account"("email");

-- CreateIndex
CREATE INDEX "Session_accountId_idx" ON "Session"("accountId");

-- CreateIndex
CREATE INDEX "Session_expiresAt_idx" ON "Session"("expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "LoginToken_tokenHash_key" ON "LoginToken"("tokenHash");

-- CreateIndex
CREATE INDEX "LoginToken_email_createdAt_idx" ON "LoginToken"("email", "createdAt");

-- CreateIndex
CREATE INDEX "LoginToken_clientAddress_createdAt_idx" ON "LoginToken"("clientAddress", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "SshKey_ownerId_name_key" ON "SshKey"("ownerId", "name");

-- AddForeignKey
ALTER TABLE "Operation" ADD CONSTRAINT "Operation_capsulId_fkey" FOREIGN KEY ("capsulId") REFERENCES "Capsul"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Operation" ADD CONSTRAINT "Operation_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "HostOperation" ADD CONSTRAINT "HostOperation_operationId_fkey" FOREIGN KEY ("operationId") REFERENCES "Operation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "HostOperation" ADD CONSTRAINT "HostOperation_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Capsul" ADD CONSTRAINT "Capsul_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "Account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Capsul" ADD CONSTRAINT "Capsul_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SshKey" ADD CONSTRAINT "SshKey_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "Account"("id") ON DELETE CASCADE ON UPDATE CASCADE;
