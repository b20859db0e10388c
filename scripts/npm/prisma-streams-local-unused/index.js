// Capsul installs this in place of @prisma/streams-local (package.json "overrides"). The prisma CLI depends on
// @prisma/dev, which depends on @prisma/streams-local, a local streams server for `prisma dev` that requires
// Node 22 (npm warns EBADENGINE on Node 20 at every install). Capsul never runs `prisma dev` (it needs
// node:sqlite, which Node 20 lacks, so it could not run here anyway); `prisma generate` does not load this.
throw new Error('@prisma/streams-local is not installed: Capsul replaces it (package.json "overrides"), since only `prisma dev` uses it');
