-- CreateIndex
CREATE INDEX "Operation_kind_state_createdAt_idx" ON "Operation"("kind", "state", "createdAt");
