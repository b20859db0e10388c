-- CreateIndex: one change at a time per capsul, decided by the insert (src/hub/operations/changes.ts)
CREATE UNIQUE INDEX "Operation_one_change_per_capsul" ON "Operation"("capsulId") WHERE (state IN ('pending', 'assigned') AND kind IN ('resize', 'snapshotCreate', 'snapshotRevert', 'snapshotDelete', 'rebuild'));
