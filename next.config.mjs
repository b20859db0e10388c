/** @type {import('next').NextConfig} */
const nextConfig = {
  // The hub runs inside src/main.ts (a custom HTTPS server); these are loaded from node_modules at run time
  // so the process keeps one copy of each (PGlite opens its folder once per process).
  serverExternalPackages: [
    '@electric-sql/pglite',
    'pglite-prisma-adapter',
    '@prisma/adapter-pg',
    '@prisma/schema-engine-wasm',
    'pg',
    'undici',
    'execa',
    'pino',
    'prom-client',
  ],
  typescript: { tsconfigPath: 'tsconfig.next.json' },
  poweredByHeader: false,
  reactStrictMode: true,
  typedRoutes: false,
};
export default nextConfig;
